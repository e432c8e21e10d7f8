package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

// probeInput is the input of probe, a test algorithm that records when it
// ran.
type probeInput struct {
	Key    string `json:"key"`
	Seq    int    `json:"seq"`
	Millis int    `json:"millis"`
	Fail   bool   `json:"fail,omitempty"`
}

// interval is one run of probe.
type interval struct {
	key        string
	seq        int
	start, end time.Time
}

// probes records the runs of probe; tests reset it.
var probes struct {
	sync.Mutex
	runs []interval
}

var registerProbe = sync.OnceFunc(func() {
	gokind.Register("probe", func(ctx context.Context, in probeInput) (probeInput, error) {
		iv := interval{key: in.Key, seq: in.Seq, start: time.Now()}
		defer func() {
			iv.end = time.Now()
			probes.Lock()
			probes.runs = append(probes.runs, iv)
			probes.Unlock()
		}()
		select {
		case <-time.After(time.Duration(in.Millis) * time.Millisecond):
		case <-ctx.Done():
			return in, ctx.Err()
		}
		if in.Fail {
			return in, conveyor.Permanent(errors.New("failed on request"))
		}
		return in, nil
	})
})

// probeConfig serves probe, as testConfig serves every Go algorithm
// registered, with 4 workers.
func probeConfig(t *testing.T) config.Config {
	registerProbe()
	cfg := testConfig(t, t.TempDir())
	probes.Lock()
	probes.runs = nil
	probes.Unlock()
	return cfg
}

// TestMutex: jobs that share a mutex key never overlap and run in the order
// they were submitted, on a pool that could run several at once; jobs of
// other keys run alongside; a holder that fails or is canceled passes the
// key on.
func TestMutex(t *testing.T) {
	s := startServer(t, probeConfig(t))
	keys := []string{"a", "b", "c"}
	var ids []string
	for seq := range 6 {
		for _, k := range keys {
			j := s.submit(map[string]any{"algorithm": "probe", "mutex": "key-" + k, "input": probeInput{Key: k, Seq: seq, Millis: 30}}, "", 202)
			ids = append(ids, j.ID)
		}
	}
	// A holder canceled while it runs, then one that fails: the third
	// job of the key still runs.
	held := s.submit(map[string]any{"algorithm": "probe", "mutex": "key-d", "input": probeInput{Key: "d", Seq: 0, Millis: 60_000}}, "", 202)
	failing := s.submit(map[string]any{"algorithm": "probe", "mutex": "key-d", "input": probeInput{Key: "d", Seq: 1, Fail: true}}, "", 202)
	last := s.submit(map[string]any{"algorithm": "probe", "mutex": "key-d", "input": probeInput{Key: "d", Seq: 2, Millis: 10}}, "", 202)
	testenv.Eventually(t, "the holder of key-d to run", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+held.ID, nil, &j)
		return j.Status == conveyor.StatusRunning
	})
	var waiting conveyor.Job
	s.do("GET", "/v1/jobs/"+failing.ID, nil, &waiting)
	if waiting.Status != conveyor.StatusQueued {
		t.Fatalf("second job of key-d is %s while the first holds the key", waiting.Status)
	}
	canceled := time.Now()
	if resp := s.do("POST", "/v1/jobs/"+held.ID+"/cancel", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	if j := s.wait(failing.ID); j.Status != conveyor.StatusFailed {
		t.Fatalf("failing job: %s", j.Status)
	}
	if j := s.wait(last.ID); j.Status != conveyor.StatusSucceeded {
		t.Fatalf("last job of key-d: %s %+v", j.Status, j.Error)
	}
	for _, id := range ids {
		if j := s.wait(id); j.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s: %s %+v", id, j.Status, j.Error)
		}
	}

	probes.Lock()
	runs := slices.Clone(probes.runs)
	probes.Unlock()
	byKey := map[string][]interval{}
	for _, iv := range runs {
		byKey[iv.key] = append(byKey[iv.key], iv)
	}
	for key, ivs := range byKey {
		slices.SortFunc(ivs, func(a, b interval) int { return a.start.Compare(b.start) })
		for i := 1; i < len(ivs); i++ {
			if ivs[i].start.Before(ivs[i-1].end) {
				t.Errorf("key %s: run %d [%v, %v] overlaps run %d [%v, %v]", key, ivs[i].seq, ivs[i].start, ivs[i].end, ivs[i-1].seq, ivs[i-1].start, ivs[i-1].end)
			}
			if ivs[i].seq != ivs[i-1].seq+1 {
				t.Errorf("key %s: run %d started after run %d, want submission order", key, ivs[i].seq, ivs[i-1].seq)
			}
		}
	}
	// The canceled holder's runner passed the key on as its attempt
	// stopped, not a sweep seconds later (one heartbeat is 5 s here).
	if d := byKey["d"]; len(d) > 1 && d[1].start.Sub(canceled) > 3*time.Second {
		t.Errorf("key d passed on %v after the cancel of its holder", d[1].start.Sub(canceled).Round(time.Millisecond))
	}
	if got := len(byKey["a"]) + len(byKey["b"]) + len(byKey["c"]) + len(byKey["d"]); got != 21 {
		t.Errorf("%d runs, want 21", got)
	}
	// Other keys are not held up: runs of different keys overlap.
	overlaps := 0
	for _, x := range runs {
		for _, y := range runs {
			if x.key < y.key && x.start.Before(y.end) && y.start.Before(x.end) {
				overlaps++
			}
		}
	}
	if overlaps == 0 {
		t.Error("no two runs of different keys overlapped: keys held each other up")
	}
}

// TestPriority: a runner with one free slot takes high jobs before normal
// ones before low ones, each in submission order, and while low jobs wait
// one job in ten it takes is a low one.
func TestPriority(t *testing.T) {
	s, gate := gatedProbe(t)
	var ids []string
	for seq := range 5 {
		for _, prio := range []string{"low", "normal", "high"} {
			j := s.submit(map[string]any{"algorithm": "probe", "priority": prio, "input": probeInput{Key: prio, Seq: seq}}, "", 202)
			ids = append(ids, j.ID)
		}
	}
	s.do("POST", "/v1/jobs/"+gate.ID+"/cancel", nil, nil)
	for _, id := range ids {
		if j := s.wait(id); j.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s: %s", id, j.Status)
		}
	}
	probes.Lock()
	var order []string
	for _, iv := range probes.runs {
		if iv.key != "gate" {
			order = append(order, fmt.Sprintf("%s%d", iv.key[:1], iv.seq))
		}
	}
	probes.Unlock()
	got := strings.Join(order, " ")
	// Five high first; then normal, with one low taken in turn (after the
	// ninth or tenth job since the slot freed), then the rest of low.
	if got != "h0 h1 h2 h3 h4 n0 n1 n2 n3 l0 n4 l1 l2 l3 l4" && got != "h0 h1 h2 h3 h4 n0 n1 n2 l0 n3 n4 l1 l2 l3 l4" {
		t.Fatalf("start order %s", got)
	}
}

// TestQueuedJobUnstored: a job queued without a mutex or idempotency key is
// held by its queue message alone until its runner starts it; meanwhile it
// reads, lists, streams and cancels like any job, and a canceled one never
// runs.
func TestQueuedJobUnstored(t *testing.T) {
	s, gate := gatedProbe(t)
	waiting := s.submit(map[string]any{"algorithm": "probe", "input": probeInput{Key: "waiting"}}, "", 202)
	if _, _, err := s.app.broker.GetJobRecord(t.Context(), waiting.ID); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("the queued job is in the store (%v): it should cost one write", err)
	}
	var j conveyor.Job
	if resp := s.do("GET", "/v1/jobs/"+waiting.ID, nil, &j); resp.StatusCode != 200 || j.Status != conveyor.StatusQueued {
		t.Fatalf("GET the queued job: %d %s", resp.StatusCode, j.Status)
	}
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs?status=queued", nil, &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != waiting.ID {
		t.Fatalf("queued jobs: %+v", list.Jobs)
	}
	resp := s.do("POST", "/v1/jobs/"+waiting.ID+"/cancel", nil, &j)
	if resp.StatusCode != 200 || j.Status != conveyor.StatusCanceled {
		t.Fatalf("cancel: %d %s", resp.StatusCode, j.Status)
	}
	s.do("POST", "/v1/jobs/"+gate.ID+"/cancel", nil, nil)
	after := s.submit(map[string]any{"algorithm": "probe", "input": probeInput{Key: "after"}}, "?wait=30s", 200)
	if after.Status != conveyor.StatusSucceeded {
		t.Fatalf("the job after: %s", after.Status)
	}
	if j := s.wait(waiting.ID); j.Status != conveyor.StatusCanceled {
		t.Fatalf("the canceled job ended %s", j.Status)
	}
	probes.Lock()
	defer probes.Unlock()
	for _, iv := range probes.runs {
		if iv.key == "waiting" {
			t.Fatal("the job canceled while queued ran")
		}
	}
}

// gatedProbe starts a server whose only algorithm is probe with one worker,
// and a gate job that holds that worker for a minute, running; cancel the
// gate to free it.
func gatedProbe(t *testing.T) (*server, *conveyor.Job) {
	t.Helper()
	registerProbe()
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = []config.Algorithm{{Name: "probe", Kind: "go", Workers: config.Workers{Max: 1}}}
	cfg.WithDefaults()
	probes.Lock()
	probes.runs = nil
	probes.Unlock()
	s := startServer(t, cfg)
	gate := s.submit(map[string]any{"algorithm": "probe", "input": probeInput{Key: "gate", Millis: 60_000}}, "", 202)
	testenv.Eventually(t, "the gate job to run", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+gate.ID, nil, &j)
		return j.Status == conveyor.StatusRunning
	})
	return s, gate
}
