package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestClusterFailover runs 3 broker nodes (R3), 2 gateways and 2 runners
// as separate processes; 1,000 quick jobs and a few slow ones are
// submitted through alternating gateways while one runner and then one
// NATS node are killed with SIGKILL. Every job must finish once, with
// the right output; none is lost or doubled; the slow jobs the killed
// runner was running finish on the other runner.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	dir := t.TempDir()
	c := startCluster(t, dir, 3)
	env := []string{"CONVEYOR_NATS_REPLICAS=3", "CONVEYOR_HEARTBEAT=500ms"}
	runnerEnv := append(slices.Clone(env), "CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 8}}]")
	var gws []*proc
	for range 2 {
		addr := c.addr(t)
		gws = append(gws, startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr))
	}
	runners := []*proc{
		startProc(t, []string{"runner", "--nats", c.url}, runnerEnv, "", ""),
		startProc(t, []string{"runner", "--nats", c.url}, runnerEnv, "", ""),
	}
	ids := make([]string, 2)
	testenv.Eventually(t, "both runners listed", func() bool {
		ids[0], ids[1] = runnerID(t, gws[0], runners[0]), runnerID(t, gws[0], runners[1])
		return ids[0] != "" && ids[1] != ""
	})

	cl := &submitter{gws: gws}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Quick jobs, from 16 clients, through alternating gateways.
	const quick = 1000
	jobs := make([]string, quick)
	var submitted atomic.Int32
	var wg sync.WaitGroup
	submitCtx, stopSubmits := context.WithCancelCause(ctx)
	start := time.Now()
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < quick && submitCtx.Err() == nil; i += 16 {
				jobs[i] = cl.submit(t, submitCtx, i, fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"idempotency_key":"q-%d"}`, 1_000_000+i, i))
				submitted.Add(1)
			}
		}()
	}
	// A test that fails before its submits are done stops them: they must
	// not call t.Errorf once it has ended.
	defer func() { stopSubmits(errStopped); wg.Wait() }()

	// Kill a NATS node while submits go on.
	testenv.Eventually(t, "a few submits", func() bool { return submitted.Load() >= 200 })
	c.nodes[1].kill(syscall.SIGKILL)
	nodeKilled := time.Now()
	t.Logf("killed NATS node n2 at %d/%d submitted", submitted.Load(), quick)

	// Then slow jobs, and kill -9 a runner that runs one.
	const slowSeconds = 4
	slow := map[string]bool{}
	for i := range 6 {
		slow[cl.submit(t, ctx, i, fmt.Sprintf(`{"algorithm":"sleep","input":{"seconds":%d},"idempotency_key":"slow-%d"}`, slowSeconds, i))] = true
	}
	var running []conveyor.Job
	testenv.Eventually(t, "a slow job running", func() bool {
		running = running[:0]
		for id := range slow {
			if j, ok := cl.get(ctx, id, ""); ok && j.Status == conveyor.StatusRunning {
				running = append(running, j)
			}
		}
		return len(running) > 0
	})
	t.Logf("slow jobs submitted and one running %v after the node's loss", time.Since(nodeKilled).Round(time.Millisecond))
	victim, victimID, survivorID := runners[0], ids[0], ids[1]
	if running[0].Runner == ids[1] {
		victim, victimID, survivorID = runners[1], ids[1], ids[0]
	}
	var onVictim []string
	for _, j := range running {
		if j.Runner == victimID {
			onVictim = append(onVictim, j.ID)
		}
	}
	killed := time.Now()
	victim.kill(syscall.SIGKILL)
	t.Logf("killed runner %s at %d/%d submitted, running %d slow jobs", victimID, submitted.Load(), quick, len(onVictim))
	for _, id := range onVictim {
		testenv.Eventually(t, "the killed runner's job to run elsewhere", func() bool {
			j, ok := cl.get(ctx, id, "")
			return ok && j.Runner == survivorID
		})
	}
	t.Logf("kill -9 of a runner → its %d running jobs running on the other runner %v later (heartbeat 500ms: the lease lapses after 1.5s)",
		len(onVictim), time.Since(killed).Round(time.Millisecond))
	wg.Wait()
	t.Logf("submitted %d jobs in %v through 2 gateways; the slowest submit took %v; %d requests were retried by the client",
		quick+len(slow), time.Since(start).Round(time.Millisecond), time.Duration(cl.slowest.Load()).Round(time.Millisecond), cl.retries.Load())
	if t.Failed() {
		return
	}

	// Every job succeeds once, with its own right answer.
	for i, id := range jobs {
		j := cl.await(t, ctx, id)
		n := 1_000_000 + i
		if want := fmt.Sprintf(`{"n":%d,"prime":%t}`, n, isPrime(n)); j.Status != conveyor.StatusSucceeded || string(j.Output) != want {
			t.Fatalf("job %s (n=%d): %s, output %s, error %+v; want %s", id, n, j.Status, j.Output, j.Error, want)
		}
	}
	for id := range slow {
		j := cl.await(t, ctx, id)
		var out struct{ Slept float64 }
		if j.Status != conveyor.StatusSucceeded || json.Unmarshal(j.Output, &out) != nil || out.Slept < slowSeconds {
			t.Fatalf("slow job %s: %s, output %s, error %+v", id, j.Status, j.Output, j.Error)
		}
		if slices.Contains(onVictim, id) {
			if j.Runner != survivorID || j.Attempt < 2 {
				t.Errorf("slow job %s, running on the killed runner: finished on %s in attempt %d, want %s in a later attempt", id, j.Runner, j.Attempt, survivorID)
			}
		}
	}
	t.Logf("all %d jobs done %v after the first submit", quick+len(slow), time.Since(start).Round(time.Millisecond))

	// None doubled: each gateway lists exactly the jobs submitted, once
	// its view has caught up with the store.
	for i, g := range gws {
		var got int
		testenv.Eventually(t, fmt.Sprintf("gateway %d to list %d jobs", i+1, quick+len(slow)), func() bool {
			got = countJobs(t, g)
			if got > quick+len(slow) {
				t.Fatalf("gateway %d lists %d jobs, want %d", i+1, got, quick+len(slow))
			}
			return got == quick+len(slow)
		})
	}
	t.Logf("both gateways list the %d jobs %v after the first submit", quick+len(slow), time.Since(start).Round(time.Millisecond))

	// The synchronous path goes through the cluster too.
	for i, g := range gws {
		var out struct{ Prime bool }
		if code, err := g.call("GET", "/v1/algorithms/is_prime/run?n=97", "", &out); err != nil || code != 200 || !out.Prime {
			t.Errorf("call through gateway %d: %d %v", i+1, code, err)
		}
	}
}

// TestDiscovery runs a broker, 2 gateways and runners as processes: a
// runner's algorithms appear on both gateways; a runner announcing an
// algorithm with another input schema is reported as a conflict, not
// merged; a killed runner, which cannot say goodbye, is gone from both
// once its heartbeat TTL lapses, and then the other schema takes over the
// registration.
func TestDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	c := startCluster(t, dir, 1)
	env := []string{"CONVEYOR_HEARTBEAT=300ms"}
	var gws []*proc
	for range 2 {
		addr := c.addr(t)
		gws = append(gws, startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr))
	}
	first := startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_ALGORITHMS=[{kind: go}]"), "", "")
	algorithm := func(g *proc) conveyor.AlgorithmInfo {
		var a conveyor.AlgorithmInfo
		if code, err := g.call("GET", "/v1/algorithms/is_prime", "", &a); err != nil || code != 200 {
			return conveyor.AlgorithmInfo{}
		}
		return a
	}
	var firstID string
	for i, g := range gws {
		testenv.Eventually(t, fmt.Sprintf("the runner on gateway %d", i+1), func() bool {
			firstID = runnerID(t, g, first)
			a := algorithm(g)
			return firstID != "" && slices.Contains(a.Runners, firstID) && strings.Contains(string(a.InputSchema), `"n"`)
		})
	}

	// Another runner serves is_prime with another input schema.
	other := `[{name: is_prime, kind: exec, command: [sh, -c, "echo 'OUTPUT: {}'"], input_schema: {type: object, properties: {m: {type: integer}}, required: [m]}}]`
	second := startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_ALGORITHMS="+other), "", "")
	var secondID string
	for i, g := range gws {
		testenv.Eventually(t, fmt.Sprintf("the conflict reported on gateway %d", i+1), func() bool {
			secondID = runnerID(t, g, second)
			a := algorithm(g)
			return secondID != "" && len(a.Conflicts) == 1 && a.Conflicts[0].Runner == secondID &&
				strings.Contains(string(a.InputSchema), `"n"`) // the registered schema is kept
		})
	}
	if !strings.Contains(second.logs.String(), "input schema conflict") || !strings.Contains(gws[0].logs.String(), "another input schema") {
		t.Errorf("the conflict is not logged\nrunner:\n%s\ngateway:\n%s", second.logs, gws[0].logs)
	}

	// Kill the first runner: it leaves both gateways within its TTL, and
	// the second's schema is registered (a rolling upgrade).
	killed := time.Now()
	first.kill(syscall.SIGKILL)
	for i, g := range gws {
		testenv.Eventually(t, fmt.Sprintf("the killed runner gone from gateway %d", i+1), func() bool { return runnerID(t, g, first) == "" })
	}
	t.Logf("a runner killed with SIGKILL left both gateways' lists %v later (heartbeat 300ms, TTL 900ms)", time.Since(killed).Round(time.Millisecond))
	for i, g := range gws {
		testenv.Eventually(t, fmt.Sprintf("the second schema registered on gateway %d", i+1), func() bool {
			a := algorithm(g)
			return len(a.Conflicts) == 0 && strings.Contains(string(a.InputSchema), `"m"`) && slices.Equal(a.Runners, []string{secondID})
		})
	}
}

// TestClusterGracefulNodeStop stops a NATS node of a 3-node cluster with
// SIGTERM while jobs are submitted: it hands its leaderships over before
// it goes, so every submit is accepted, every job succeeds once with its
// own output, and none is lost or doubled. How many requests the client
// sent again (after a 5xx or a dropped connection, with the same
// idempotency key) and how long the slowest submit took are logged, not
// asserted: whether a request outlasts the handover depends on the
// machine's speed.
func TestClusterGracefulNodeStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, t.TempDir(), 3)
	env := []string{"CONVEYOR_NATS_REPLICAS=3", "CONVEYOR_HEARTBEAT=500ms"}
	addr := c.addr(t)
	g := startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr)
	startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 8}}]"), "", "")
	cl := &submitter{gws: []*proc{g}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// 8 clients submit until told to stop: until the node is down and a
	// few hundred more jobs are in.
	const most = 20_000
	jobs := make([]string, most)
	var submitted atomic.Int32
	var stop atomic.Bool
	var wg sync.WaitGroup
	submitCtx, stopSubmits := context.WithCancelCause(ctx)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < most && !stop.Load(); i += 8 {
				jobs[i] = cl.submit(t, submitCtx, i, fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"idempotency_key":"g-%d"}`, i, i))
				submitted.Add(1)
			}
		}()
	}
	// A test that fails before it stops the clients stops them: they must
	// not call t.Errorf once it has ended.
	defer func() { stop.Store(true); stopSubmits(errStopped); wg.Wait() }()
	testenv.Eventually(t, "a few submits", func() bool { return submitted.Load() >= 300 })
	began, before := time.Now(), submitted.Load()
	c.nodes[0].kill(syscall.SIGTERM)
	after := submitted.Load()
	t.Logf("NATS node n1 stopped gracefully in %v, while submits %d to %d went on", time.Since(began).Round(time.Millisecond), before, after)
	testenv.Eventually(t, "more submits", func() bool { return submitted.Load() >= after+300 })
	stop.Store(true)
	wg.Wait()
	t.Logf("the slowest submit took %v; %d requests were sent again by the client",
		time.Duration(cl.slowest.Load()).Round(time.Millisecond), cl.retries.Load())
	if t.Failed() {
		return // a submit was not accepted
	}
	want := 0
	for i, id := range jobs {
		if id == "" {
			continue // never submitted (a client stops at its next job)
		}
		want++
		if j := cl.await(t, ctx, id); j.Status != conveyor.StatusSucceeded || string(j.Output) != fmt.Sprintf(`{"n":%d,"prime":%t}`, i, isPrime(i)) {
			t.Fatalf("job %s (n=%d): %s %s", id, i, j.Status, j.Output)
		}
	}
	// None doubled: the gateway lists exactly the jobs submitted, once its
	// view has caught up with the store.
	testenv.Eventually(t, fmt.Sprintf("the gateway to list %d jobs", want), func() bool {
		got := countJobs(t, g)
		if got > want {
			t.Fatalf("the gateway lists %d jobs, want %d: a submit sent again made a second job", got, want)
		}
		return got == want
	})
}

// TestBrokerCredentials: a `conveyor broker` given a user and password
// turns away a runner without them, which exits at once, and serves one
// with them.
func TestBrokerCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	addr := testenv.FreeAddr(t)
	creds := []string{"CONVEYOR_NATS_USER=conveyor", "CONVEYOR_NATS_PASSWORD=s3cret"}
	startProc(t, []string{"broker", "--listen", addr, "--data-dir", t.TempDir()}, creds, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	rogue := exec.CommandContext(ctx, binary, "runner", "--nats", "nats://"+addr)
	rogue.Env = append(os.Environ(), "CONVEYOR_NATS_PASSWORD=guess")
	out, err := rogue.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("a runner without the credentials still ran after %v, and was killed; it should exit at once:\n%s", requestTimeout, out)
	}
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "authorization violation") {
		t.Fatalf("a runner without the credentials: %v\n%s", err, out)
	}
	startProc(t, []string{"runner", "--nats", "nats://" + addr}, creds, "", "")
}
