//go:build unix

package workerkind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPoolGrowsAndRetires runs two jobs at once on a pool of min 0, max
// 2: a second process starts for the second job; both retire once idle,
// and the next job starts one again.
func TestPoolGrowsAndRetires(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) {
		e.Workers = config.Workers{Min: 0, Max: 2}
		o.IdleTimeout = conveyor.Duration(300 * time.Millisecond)
	}))
	h := hs["hold"].(*handler)
	pl := h.pool
	if n, idle := pl.size(); n != 1 || idle != 1 {
		t.Fatalf("after Provision: %d processes, %d idle; want the first one", n, idle)
	}
	release := filepath.Join(t.TempDir(), "release")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	input := fmt.Sprintf(`{"path": %q}`, release)
	_, done1 := holdJob(t, ctx, h, input)
	_, done2 := holdJob(t, ctx, h, input)
	if n, idle := pl.size(); n != 2 || idle != 0 {
		t.Errorf("with two jobs running: %d processes, %d idle; want 2 busy", n, idle)
	}
	// A third job waits for a free process, in the hands of a busy one
	// (prefetch): max is 2.
	third := make(chan error, 1)
	go func() { _, err := hs["pid"].Run(ctx, task("pid", `{}`, &recorder{})); third <- err }()
	testenv.Eventually(t, "the third job to wait", func() bool {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		held := 0
		for p := range pl.procs {
			held += p.inflight - 1
		}
		return held == 1
	})
	if n, _ := pl.size(); n != 2 {
		t.Errorf("%d processes, want no more than max 2", n)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan error{done1, done2, third} {
		if err := result(t, ch); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "idle processes to retire", func() bool { n, _ := pl.size(); return n == 0 })
	pidOf(t, h) // starts one on demand
	if n, _ := pl.size(); n != 1 {
		t.Errorf("after a job on an empty pool: %d processes, want 1", n)
	}
}

// TestPoolKeepsMin checks that min processes start with the pool and are
// never retired.
func TestPoolKeepsMin(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) {
		e.Workers = config.Workers{Min: 2, Max: 3}
		o.IdleTimeout = conveyor.Duration(50 * time.Millisecond)
	}))
	pl := poolOf(hs["pid"])
	testenv.Eventually(t, "min processes", func() bool { n, idle := pl.size(); return n == 2 && idle == 2 })
	time.Sleep(200 * time.Millisecond) // four idle timeouts: nothing may change
	if n, _ := pl.size(); n != 2 {
		t.Errorf("%d processes after idling, want min 2", n)
	}
}

// TestCrashLoopBacksOff: the worker starts once, then every restart fails
// at once. The failures are reported with stderr, a waiting job fails as
// crashed with the reason, and restarts are spaced by the backoff.
func TestCrashLoopBacksOff(t *testing.T) {
	dir := t.TempDir()
	starts, marker := filepath.Join(dir, "starts"), filepath.Join(dir, "marker")
	script, _ := filepath.Abs("testdata/flaky_start.sh")
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) {
		o.Process.Command = []string{"sh", script}
		o.Process.Env = map[string]string{"STARTS": starts, "MARKER": marker, "PYTHON": testenv.Python(t)}
		e.Workers = config.Workers{Min: 1, Max: 1}
	}))
	_, err, _ := run(t, hs["crash"], "crash", `{}`) // the only worker dies
	if je := jobError(t, err); je.Type != conveyor.ErrorTypeCrashed {
		t.Fatalf("crash: %+v", je)
	}
	_, err, _ = run(t, hs["pid"], "pid", `{}`)
	je := jobError(t, err)
	if je.Type != conveyor.ErrorTypeCrashed || je.Message != "no worker process could be started" ||
		!strings.Contains(je.Detail, "exited with status 7") || !strings.Contains(je.Detail, "cannot start again") {
		t.Fatalf("job on a crash-looping pool: %#v", je)
	}
	times := func() []int64 {
		data, _ := os.ReadFile(starts)
		var out []int64
		for _, f := range strings.Fields(string(data)) {
			n, _ := strconv.ParseInt(f, 10, 64)
			out = append(out, n)
		}
		return out
	}
	testenv.Eventually(t, "two restarts", func() bool { return len(times()) >= 3 })
	ts := times()
	// Start 1 is the healthy one; its early crash is failure 1 (next start
	// after 0.5s, less up to half of it for jitter), the failed restart
	// failure 2 (next after 1s, less up to half).
	for i, want := range []int64{250, 450} {
		if gap := ts[i+1] - ts[i]; gap < want {
			t.Errorf("start %d came %dms after the previous one, want ≥ %dms: %v", i+2, gap, want, ts)
		}
	}
}

// TestCloseLeavesNoProcess checks that Close stops every worker and the
// processes they started.
func TestCloseLeavesNoProcess(t *testing.T) {
	served, err := Kind{}.Provision(context.Background(), pyEntry(t, func(e *config.Algorithm, o *Options) {
		e.Workers = config.Workers{Min: 2, Max: 2}
		o.Process.Command = []string{"sh", "-c", `sleep 300 & echo "child $!" >&2; exec "$0" -m conveyor.worker algos`, testenv.Python(t)}
	}))
	if err != nil {
		t.Fatal(err)
	}
	pl := poolOf(served[0].Handler)
	testenv.Eventually(t, "two workers", func() bool { n, _ := pl.size(); return n == 2 })
	var pids []int
	pl.mu.Lock()
	for p := range pl.procs {
		pids = append(pids, p.pid)
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if c, ok := strings.CutPrefix(l, "child "); ok {
				n, _ := strconv.Atoi(c)
				pids = append(pids, n)
			}
		}
	}
	pl.mu.Unlock()
	if len(pids) != 4 {
		t.Fatalf("pids %v: want 2 workers and their children", pids)
	}
	for _, s := range served {
		_ = s.Handler.(*handler).Close() // every algorithm's handler: idempotent
	}
	for _, pid := range pids {
		testenv.Eventually(t, fmt.Sprintf("process %d to be gone", pid), func() bool { return !alive(pid) })
	}
	if _, err := served[0].Handler.Run(context.Background(), task("pid", `{}`, &recorder{})); err != errClosed {
		t.Errorf("Run after Close: %v", err)
	}
}

// TestAcquireSkipsExitedProcess: the free slots of a process that exited
// are not handed out while they wait to be taken out of the pool: a job
// its process held, sent again, must not go back to the dead one.
func TestAcquireSkipsExitedProcess(t *testing.T) {
	dead := &proc{exited: make(chan struct{}), conc: 1, ahead: 4}
	close(dead.exited)
	pl := newPool(&pool{max: 1, conc: 1, ahead: 4})
	pl.depth.Store(4)
	pl.procs[dead] = true
	pl.free = []*proc{dead, dead, dead}
	dead.inflight = 2
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if p, err := pl.acquire(ctx, false); err == nil {
		t.Fatalf("acquire handed out a slot of an exited process (%p)", p)
	}
}
