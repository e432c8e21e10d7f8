package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestLabelRouting runs the broker, a gateway and two runners with labels
// as processes. Jobs that require labels run only on a runner that has
// them; jobs that require none run on either; a job no live runner meets
// waits, /v1/algorithms says why, and it runs once a runner with its labels
// starts — queued before that runner existed, so found by its start-up
// scan, not by the doorbell.
func TestLabelRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, nats, httpAddr := startBroker(t)
	runner := func(labels string) *proc {
		return startProc(t, []string{"runner", "--nats", nats},
			[]string{"CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]", "CONVEYOR_LABELS=" + labels}, "", "")
	}
	ra, rb := runner("{model: a, zone: eu}"), runner("{model: b}")
	g := startProc(t, []string{"gateway", "--nats", nats}, []string{"CONVEYOR_HTTP_ADDR=" + httpAddr, "CONVEYOR_DATA_DIR=" + filepath.Join(dir, "gateway")}, "", httpAddr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway:\n%s\nrunner a:\n%s\nrunner b:\n%s", g.logs, ra.logs, rb.logs)
		}
	})
	var ida, idb string
	testenv.Eventually(t, "the runners to register", func() bool {
		ida, idb = runnerID(t, g, ra), runnerID(t, g, rb)
		return ida != "" && idb != ""
	})

	type sent struct {
		id   string
		want string // the runner that must run it; "" for either
	}
	var jobs []sent
	for i := range 6 {
		jobs = append(jobs,
			sent{g.submit(fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"requires":{"model":"a"}}`, 100+i)), ida},
			sent{g.submit(fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"requires":{"model":"b"},"priority":"high"}`, 200+i)), idb},
			sent{g.submit(fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"requires":{"model":"a","zone":"eu"},"priority":"low"}`, 300+i)), ida},
			sent{g.submit(fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d}}`, 400+i)), ""},
		)
	}
	// The shorthand route takes requires as k=v,k=v.
	var j conveyor.Job
	if code, err := g.call("POST", "/v1/algorithms/is_prime/jobs?requires=zone=eu,model=a", `{"n":7}`, &j); err != nil || code != 202 {
		t.Fatalf("shorthand submit: %d %v", code, err)
	}
	jobs = append(jobs, sent{j.ID, ida})
	for _, s := range jobs {
		got := g.job(s.id, "20s")
		if got.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s: %s, want succeeded", s.id, got.Status)
		}
		if s.want != "" && got.Runner != s.want {
			t.Errorf("job %s requiring %v ran on %s, want %s", s.id, got.Requires, got.Runner, s.want)
		}
	}

	// Nobody has model=c: the job waits, and the algorithm says why; a
	// canceled one is not counted.
	canceled := g.submit(`{"algorithm":"is_prime","input":{"n":11},"requires":{"model":"c"}}`)
	if code, err := g.call("POST", "/v1/jobs/"+canceled+"/cancel", "", nil); err != nil || code != 200 {
		t.Fatalf("cancel: %d %v", code, err)
	}
	waiting := g.submit(`{"algorithm":"is_prime","input":{"n":11},"requires":{"model":"c"}}`)
	if got := g.job(waiting, "1s"); got.Status != conveyor.StatusQueued {
		t.Fatalf("job requiring model=c: %s, want queued", got.Status)
	}
	var info conveyor.AlgorithmInfo
	if code, err := g.call("GET", "/v1/algorithms/is_prime", "", &info); err != nil || code != 200 {
		t.Fatalf("algorithm: %d %v", code, err)
	}
	if len(info.Unmet) != 1 || info.Unmet[0].Queued != 1 || info.Unmet[0].Requires.Canonical() != "model=c" ||
		info.Unmet[0].Reason != "no live runner of is_prime has labels model=c" {
		t.Fatalf("unmet: %+v, want the model=c job and why", info.Unmet)
	}
	rc := runner("{model: c}")
	if got := g.job(waiting, "20s"); got.Status != conveyor.StatusSucceeded || got.Runner != runnerID(t, g, rc) {
		t.Fatalf("job requiring model=c after a runner with it started: %s on %s", got.Status, got.Runner)
	}
	info = conveyor.AlgorithmInfo{}
	if code, err := g.call("GET", "/v1/algorithms/is_prime", "", &info); err != nil || code != 200 || len(info.Unmet) != 0 {
		t.Fatalf("unmet after the job ran: %d %v %+v", code, err, info.Unmet)
	}

	// Malformed requirements are refused (internal/app TestRequiresBadInput
	// checks the answers).
	if code, _ := g.call("POST", "/v1/jobs", `{"algorithm":"is_prime","input":{"n":3},"requires":{"a=b":"c"}}`, nil); code != 400 {
		t.Fatalf("malformed requires: %d, want 400", code)
	}
}
