package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// cluster is a NATS cluster of `conveyor broker` processes.
type cluster struct {
	nodes []*proc
	url   string // every node's client URL, comma-separated
}

// startCluster starts n `conveyor broker` nodes on free loopback ports,
// routed to one another, each with its own data dir under dir; one node
// runs unclustered.
func startCluster(t *testing.T, dir string, n int) *cluster {
	t.Helper()
	clients, routes := make([]string, n), make([]string, n)
	for i := range n {
		clients[i] = "nats://" + freeAddr(t)
		routes[i] = "nats://" + freeAddr(t)
	}
	c := &cluster{url: strings.Join(clients, ",")}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		args := []string{"broker", "--name", name, "--listen", strings.TrimPrefix(clients[i], "nats://"), "--data-dir", filepath.Join(dir, name)}
		if n > 1 {
			args = append(args, "--cluster", strings.TrimPrefix(routes[i], "nats://"), "--routes", strings.Join(routes, ","))
		}
		c.nodes = append(c.nodes, startProc(t, args, nil, "", ""))
	}
	return c
}

// runnerID returns the registry id of the runner process p, as gateway g
// lists it, or "" when g does not list it.
func runnerID(t *testing.T, g, p *proc) string {
	t.Helper()
	var rl conveyor.RunnerList
	if code, err := g.call("GET", "/v1/runners", "", &rl); err != nil || code != 200 {
		return ""
	}
	for _, r := range rl.Runners {
		if r.PID == p.cmd.Process.Pid {
			return r.ID
		}
	}
	return ""
}

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
		addr := freeAddr(t)
		gws = append(gws, startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr))
	}
	runners := []*proc{
		startProc(t, []string{"runner", "--nats", c.url}, runnerEnv, "", ""),
		startProc(t, []string{"runner", "--nats", c.url}, runnerEnv, "", ""),
	}
	ids := make([]string, 2)
	eventually(t, "both runners listed", func() bool {
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
	start := time.Now()
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < quick; i += 16 {
				jobs[i] = cl.submit(t, ctx, i, fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"idempotency_key":"q-%d"}`, 1_000_000+i, i))
				submitted.Add(1)
			}
		}()
	}

	// Kill a NATS node while submits go on.
	eventually(t, "a few submits", func() bool { return submitted.Load() >= 200 })
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
	eventually(t, "a slow job running", func() bool {
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
		eventually(t, "the killed runner's job to run elsewhere", func() bool {
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
		eventually(t, fmt.Sprintf("gateway %d to list %d jobs", i+1, quick+len(slow)), func() bool {
			got = countJobs(t, g)
			if got > quick+len(slow) {
				t.Fatalf("gateway %d lists %d jobs, want %d", i+1, got, quick+len(slow))
			}
			return got == quick+len(slow)
		})
	}
	t.Logf("both gateways list the %d jobs %v after the first submit", quick+len(slow), time.Since(start).Round(time.Millisecond))
}

// countJobs returns how many jobs gateway g lists.
func countJobs(t *testing.T, g *proc) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		var page conveyor.JobList
		if code, err := g.call("GET", "/v1/jobs?limit=500&cursor="+cursor, "", &page); err != nil || code != 200 {
			t.Fatalf("list jobs on %s: %d %v", g.base, code, err)
		}
		n += len(page.Jobs)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}

// submitter talks to a set of gateways, in turn, retrying what a failover
// interrupts.
type submitter struct {
	gws     []*proc
	n       atomic.Int32
	slowest atomic.Int64 // the longest submit, retries included, in ns
	retries atomic.Int32 // requests sent again after an error or a 5xx
}

func (s *submitter) next() *proc { return s.gws[int(s.n.Add(1))%len(s.gws)] }

// do sends a request to the next gateway, retrying transport errors and
// 5xx answers (on the other gateway) until ctx ends; it returns the status
// and body of the first other answer.
func (s *submitter) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	for {
		g := s.next()
		req, err := http.NewRequestWithContext(ctx, method, g.base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode < 500 {
				return resp.StatusCode, data, nil
			}
		}
		s.retries.Add(1)
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// submit posts a job (with an idempotency key, so a retry is the same
// job) and returns its id.
func (s *submitter) submit(t *testing.T, ctx context.Context, i int, body string) string {
	began := time.Now()
	code, data, err := s.do(ctx, "POST", "/v1/jobs", body)
	for d := int64(time.Since(began)); ; {
		if old := s.slowest.Load(); d <= old || s.slowest.CompareAndSwap(old, d) {
			break
		}
	}
	var j conveyor.Job
	if err == nil && code == 202 {
		err = json.Unmarshal(data, &j)
	}
	if err != nil || code != 202 {
		t.Errorf("submit %d: %d %v %s", i, code, err, data)
	}
	return j.ID
}

// get reads a job, waiting up to wait ("" for not at all).
func (s *submitter) get(ctx context.Context, id, wait string) (conveyor.Job, bool) {
	path := "/v1/jobs/" + id
	if wait != "" {
		path += "?wait=" + wait
	}
	var j conveyor.Job
	code, data, err := s.do(ctx, "GET", path, "")
	if err != nil || code != 200 || json.Unmarshal(data, &j) != nil {
		return j, false
	}
	return j, true
}

// await waits until the job is final.
func (s *submitter) await(t *testing.T, ctx context.Context, id string) conveyor.Job {
	t.Helper()
	for {
		j, ok := s.get(ctx, id, "10s")
		if ok && j.Status.Terminal() {
			return j
		}
		if ctx.Err() != nil {
			t.Fatalf("job %s not done: %s", id, j.Status)
		}
	}
}

// eventually polls cond every 20ms for up to 30s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the end of a process's log.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// TestDiscovery runs a broker, 2 gateways and runners as processes: a
// runner's algorithms appear on both gateways; a runner announcing an
// algorithm with another input schema is reported as a conflict, not
// merged; a killed runner is gone from both within its heartbeat TTL, and
// then the other schema takes over the registration.
func TestDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	c := startCluster(t, dir, 1)
	env := []string{"CONVEYOR_HEARTBEAT=300ms"}
	var gws []*proc
	for range 2 {
		addr := freeAddr(t)
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
		eventually(t, fmt.Sprintf("the runner on gateway %d", i+1), func() bool {
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
		eventually(t, fmt.Sprintf("the conflict reported on gateway %d", i+1), func() bool {
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
		eventually(t, fmt.Sprintf("the killed runner gone from gateway %d", i+1), func() bool { return runnerID(t, g, first) == "" })
	}
	gone := time.Since(killed)
	t.Logf("a runner killed with SIGKILL left both gateways' lists %v later (heartbeat 300ms, TTL 900ms)", gone.Round(time.Millisecond))
	if gone > 5*time.Second {
		t.Errorf("the killed runner took %v to leave, far over its 900ms TTL", gone)
	}
	for i, g := range gws {
		eventually(t, fmt.Sprintf("the second schema registered on gateway %d", i+1), func() bool {
			a := algorithm(g)
			return len(a.Conflicts) == 0 && strings.Contains(string(a.InputSchema), `"m"`) && slices.Equal(a.Runners, []string{secondID})
		})
	}
}
