package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// startBroker starts `conveyor broker` on a loopback port with its data
// in a new temporary directory, and returns that directory, the broker's
// URL and a free address for a gateway's HTTP.
func startBroker(t *testing.T) (dir, nats, httpAddr string) {
	t.Helper()
	dir = t.TempDir()
	addrs := testenv.FreeAddrs(t, 2) // two calls of FreeAddr may give one port twice
	startProc(t, []string{"broker", "--listen", addrs[0], "--data-dir", filepath.Join(dir, "broker")}, nil, "", "")
	return dir, "nats://" + addrs[0], addrs[1]
}

// TestSeparateProcesses runs the broker, a runner and a gateway as three
// processes over NATS on loopback: jobs and calls go through the gateway
// to the runner; a job submitted while no runner is alive stays queued and
// runs once a runner registers again.
func TestSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	_, nats, httpAddr := startBroker(t)
	runnerEnv := []string{"CONVEYOR_HEARTBEAT=300ms", "CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]"}
	r := startProc(t, []string{"runner", "--nats", nats}, runnerEnv, "", "")
	g := startProc(t, []string{"gateway", "--nats", nats}, []string{"CONVEYOR_HTTP_ADDR=" + httpAddr, "CONVEYOR_HEARTBEAT=300ms"}, "", httpAddr)

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway:\n%s\nrunner:\n%s", g.logs, r.logs)
		}
	})
	runners := func() int {
		var rl conveyor.RunnerList
		if code, err := g.call("GET", "/v1/runners", "", &rl); err != nil || code != 200 {
			t.Fatalf("runners: %d %v", code, err)
		}
		return len(rl.Runners)
	}
	testenv.Eventually(t, "the runner to register", func() bool { return runners() == 1 })

	var j conveyor.Job
	if code, err := g.call("POST", "/v1/jobs?wait=20s", `{"algorithm":"is_prime","input":{"n":91}}`, &j); err != nil || code != 200 || string(j.Output) != `{"n":91,"prime":false}` {
		t.Fatalf("job through the gateway: %d %v %+v", code, err, j)
	}
	var out struct{ Prime bool }
	if code, err := g.call("GET", "/v1/algorithms/is_prime/run?n=97", "", &out); err != nil || code != 200 || !out.Prime {
		t.Fatalf("call through the gateway: %d %v", code, err)
	}

	// No runner: a job waits in the queue, and a call is refused.
	r.kill(syscall.SIGTERM)
	testenv.Eventually(t, "the runner to leave", func() bool { return runners() == 0 })
	if code, _ := g.call("GET", "/v1/algorithms/is_prime/run?n=97", "", nil); code != 503 {
		t.Fatalf("call with no runner: %d, want 503", code)
	}
	if code, err := g.call("POST", "/v1/jobs", `{"algorithm":"is_prime","input":{"n":13}}`, &j); err != nil || code != 202 {
		t.Fatalf("submit with no runner: %d %v", code, err)
	}
	if got := g.job(j.ID, "500ms"); got.Status != conveyor.StatusQueued {
		t.Fatalf("job with no runner: %s, want queued", got.Status)
	}
	startProc(t, []string{"runner", "--nats", nats}, runnerEnv, "", "")
	if got := g.job(j.ID, "20s"); got.Status != conveyor.StatusSucceeded {
		t.Fatalf("job after a runner came back: %s", got.Status)
	}
}

// TestMutexWithoutGateway: the broker, a runner and a gateway as
// processes; two 3 s jobs on one mutex key; the gateway is stopped while
// the first runs. The key still passes on — the runner hands it over as
// its job ends (package services) — and the second job starts within a
// second of the first's end, seen when a gateway is back.
func TestMutexWithoutGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, nats, httpAddr := startBroker(t)
	r := startProc(t, []string{"runner", "--nats", nats}, []string{"CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]"}, "", "")
	gwEnv := []string{"CONVEYOR_HTTP_ADDR=" + httpAddr, "CONVEYOR_DATA_DIR=" + filepath.Join(dir, "gateway")}
	g := startProc(t, []string{"gateway", "--nats", nats}, gwEnv, "", httpAddr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway:\n%s\nrunner:\n%s", g.logs, r.logs)
		}
	})
	testenv.Eventually(t, "the runner to register", func() bool {
		var rl conveyor.RunnerList
		code, err := g.call("GET", "/v1/runners", "", &rl)
		return err == nil && code == 200 && len(rl.Runners) == 1
	})
	first := g.submit(`{"algorithm":"sleep","input":{"seconds":3},"mutex":"k"}`)
	second := g.submit(`{"algorithm":"sleep","input":{"seconds":3},"mutex":"k"}`)
	g.awaitStatus(first, conveyor.StatusRunning)
	if j := g.job(second, ""); j.Status != conveyor.StatusQueued {
		t.Fatalf("second job: %s, want queued behind the first", j.Status)
	}
	g.kill(syscall.SIGTERM)
	// Past the first's end, and then some: a gateway would have passed the
	// key by now.
	time.Sleep(4500 * time.Millisecond)
	g = startProc(t, []string{"gateway", "--nats", nats}, gwEnv, "", httpAddr)
	a, b := g.job(first, "10s"), g.job(second, "")
	if a.Status != conveyor.StatusSucceeded || b.StartedAt == nil {
		t.Fatalf("first %s, second %s (started %v): the key did not pass on without a gateway", a.Status, b.Status, b.StartedAt)
	}
	if gap := b.StartedAt.Sub(*a.FinishedAt); gap < 0 || gap > time.Second {
		t.Fatalf("second job started %s after the first ended, want within 1s", gap)
	}
}

// TestCallbackWithoutGateway: the runner that ends a job queues its
// completion callback and its callbacks service delivers it, so a
// callback goes out while no gateway runs.
func TestCallbackWithoutGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	got := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	_, nats, httpAddr := startBroker(t)
	calls := "CONVEYOR_CALLBACKS={allow_hosts: [" + strings.TrimPrefix(recv.URL, "http://") + "], secret_env: TEST_CALLBACK_SECRET}"
	r := startProc(t, []string{"runner", "--nats", nats}, []string{"CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]", calls, "TEST_CALLBACK_SECRET=s"}, "", "")
	g := startProc(t, []string{"gateway", "--nats", nats}, []string{"CONVEYOR_HTTP_ADDR=" + httpAddr, calls, "TEST_CALLBACK_SECRET=s"}, "", httpAddr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("runner:\n%s", r.logs)
		}
	})
	testenv.Eventually(t, "the runner to register", func() bool {
		var rl conveyor.RunnerList
		code, err := g.call("GET", "/v1/runners", "", &rl)
		return err == nil && code == 200 && len(rl.Runners) == 1
	})
	id := g.submit(`{"algorithm":"sleep","input":{"seconds":2},"callback_url":"` + recv.URL + `/done"}`)
	g.awaitStatus(id, conveyor.StatusRunning)
	g.kill(syscall.SIGTERM)
	select {
	case body := <-got:
		if !strings.Contains(string(body), id) || !strings.Contains(string(body), `"succeeded"`) {
			t.Fatalf("callback body %s, want job %s succeeded", body, id)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no callback while no gateway ran")
	}
}
