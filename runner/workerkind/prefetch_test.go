//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
)

// heldOn waits until the one process of pl holds n items, the first
// running and the others held.
func heldOn(t *testing.T, pl *pool, n int) *proc { return itemsOn(t, pl, n, 1) }

// itemsOn returns the one process of pl once it has n items, running of
// them running.
func itemsOn(t *testing.T, pl *pool, n, running int) *proc {
	t.Helper()
	var p *proc
	testenv.Eventually(t, fmt.Sprintf("%d items on the process, %d running", n, running), func() bool {
		pl.mu.Lock()
		for q := range pl.procs {
			p = q
		}
		pl.mu.Unlock()
		if p == nil {
			return false
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.items) == n && p.running == running
	})
	return p
}

// TestPrefetchCancelHeldJob: one process runs a job and holds the next
// (prefetch 1, the default); canceling the held one never runs it and
// leaves the running one and its process alone.
func TestPrefetchCancelHeldJob(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) { e.Grace = conveyor.Duration(time.Minute) }))
	h := hs["hold"].(*handler)
	if got := h.Prefetch(); got != 1 {
		t.Fatalf("Prefetch() = %d, want 1: one job in hand for the one slot", got)
	}
	pid := pidOf(t, h)
	dir := t.TempDir()
	release, mark := filepath.Join(dir, "release"), filepath.Join(dir, "mark")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recA, doneA := holdJob(t, ctx, h, fmt.Sprintf(`{"path": %q}`, release))

	b := start(hs["touch"], "job-b", "touch", fmt.Sprintf(`{"path": %q}`, mark))
	heldOn(t, h.pool, 2)
	b.cancel()
	<-b.done
	if !errors.Is(b.err, context.Canceled) || !strings.Contains(b.err.Error(), "the worker stopped the job") {
		t.Fatalf("held job: %v, want it stopped by the worker", b.err)
	}
	heldOn(t, h.pool, 1) // A runs on
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := result(t, doneA); err != nil {
		t.Fatalf("the running job: %v", err)
	}
	if logs, _ := recA.snapshot(); len(logs) != 0 {
		t.Errorf("the running job's log: %q", logs)
	}
	if got := pidOf(t, h); got != pid {
		t.Errorf("the process was replaced: pid %d, want %d", got, pid)
	}
	if _, err := os.Stat(mark); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the canceled held job ran: %v", err)
	}
}

// TestPrefetchCrashWithHeldJob: a process dies while it runs a job and
// holds the next. The running one fails as crashed; the held one never
// ran, so it goes to the new process, in the same attempt.
func TestPrefetchCrashWithHeldJob(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	h := hs["hold"].(*handler)
	pid := pidOf(t, h)
	dir := t.TempDir()
	mark := filepath.Join(dir, "mark")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, doneA := holdJob(t, ctx, h, fmt.Sprintf(`{"path": %q}`, filepath.Join(dir, "never")))
	b := start(hs["touch"], "job-b", "touch", fmt.Sprintf(`{"path": %q}`, mark))
	defer b.cancel()
	heldOn(t, h.pool, 2)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	je := jobError(t, result(t, doneA))
	if je.Type != conveyor.ErrorTypeCrashed {
		t.Errorf("the running job: %+v, want crashed", je)
	}
	<-b.done
	if b.err != nil {
		t.Fatalf("the held job: %v, want it run by the new process", b.err)
	}
	var ran int
	if err := json.Unmarshal(b.out, &ran); err != nil || ran == pid || ran == 0 {
		t.Errorf("the held job ran in pid %s, want the new process (old %d)", b.out, pid)
	}
	if logs, _ := b.rec.snapshot(); !slices.ContainsFunc(logs, func(l string) bool {
		return strings.Contains(l, "held the job") && strings.Contains(l, "another takes the job")
	}) {
		t.Errorf("the held job's log does not say it moved: %q", logs)
	}
}

// TestPrefetchOff: with prefetch: 0 a busy process holds nothing: the
// next job waits in the pool.
func TestPrefetchOff(t *testing.T) {
	zero := 0
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) { o.Prefetch = &zero }))
	h := hs["hold"].(*handler)
	if got := h.Prefetch(); got != 0 {
		t.Errorf("Prefetch() = %d, want 0", got)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, doneA := holdJob(t, ctx, h, fmt.Sprintf(`{"path": %q}`, filepath.Join(dir, "release")))
	b := start(hs["pid"], "job-b", "pid", `{}`)
	testenv.Eventually(t, "the second job to wait for the process", func() bool {
		h.pool.mu.Lock()
		defer h.pool.mu.Unlock()
		return len(h.pool.waiters) == 1
	})
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := result(t, doneA); err != nil {
		t.Fatal(err)
	}
	<-b.done
	if b.err != nil {
		t.Fatal(b.err)
	}
}

// TestGoldenPrefetch replays workerproto/testdata/prefetch.jsonl: a held
// job goes with its timeout instead of a deadline, a cancel of it is
// answered at once, and the next held one starts once the running one is
// answered.
func TestGoldenPrefetch(t *testing.T) {
	abs, _ := filepath.Abs("../../workerproto/testdata/prefetch.jsonl")
	hs, _ := provision(t, Kind{}, replayEntry(abs))
	pl := poolOf(hs["word_count"])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run := func(ctx context.Context, id, alg, input string) *started {
		s := &started{id: id, rec: &recorder{}, done: make(chan struct{})}
		go func() {
			defer close(s.done)
			tk := &runner.Task{JobID: id, Algorithm: alg, Input: json.RawMessage(input), Attempt: 1, Timeout: time.Minute, Reporter: s.rec}
			s.out, s.err = hs[alg].Run(ctx, tk)
		}()
		return s
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	job1 := run(ctx1, "job-1", "wait_for_cancel", `{}`)
	testenv.Eventually(t, "job-1 to report progress", func() bool { _, p := job1.rec.snapshot(); return len(p) > 0 })
	ctx2, cancel2 := context.WithCancel(ctx)
	job2 := run(ctx2, "job-2", "word_count", `{"text":"never counted"}`)
	heldOn(t, pl, 2)
	cancel2()
	<-job2.done
	if !errors.Is(job2.err, context.Canceled) {
		t.Errorf("job-2: %v, want canceled", job2.err)
	}
	job3 := run(ctx, "job-3", "word_count", `{"text":"b a b"}`)
	heldOn(t, pl, 2)
	cancel1()
	<-job1.done
	<-job3.done
	if !errors.Is(job1.err, context.Canceled) {
		t.Errorf("job-1: %v, want canceled", job1.err)
	}
	if job3.err != nil || !sameJSON(job3.out, []byte(`{"words":3,"top":[["b",2],["a",1]]}`)) {
		t.Errorf("job-3: %s, %v", job3.out, job3.err)
	}
	if logs, _ := job3.rec.snapshot(); !slices.Equal(logs, []string{"stdout: counting words"}) {
		t.Errorf("job-3's log: %q", logs)
	}
	// The replaying worker exits 0 only if the runner said exactly what
	// the transcript says.
	p := heldOnNone(t, pl)
	p.stop(time.Second)
	if !strings.Contains(p.status, "status 0") {
		t.Errorf("the replaying worker %s", p.status)
	}
}

// heldOnNone returns the one process of pl once it has no item.
func heldOnNone(t *testing.T, pl *pool) *proc { return itemsOn(t, pl, 0, 0) }

// TestAdaptivePrefetch: an entry without prefetch holds one job in hand
// per slot, up to four while its jobs are short, and one again once they
// are not; an entry's own prefetch stays as it is.
func TestAdaptivePrefetch(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	h := hs["pid"].(*handler)
	slots := h.pool.max * h.pool.conc
	if got := h.Prefetch(); got != slots {
		t.Fatalf("Prefetch() = %d before any job, want %d: one in hand per slot", got, slots)
	}
	if h.pool.ahead != deepPrefetch*h.pool.conc {
		t.Fatalf("the worker accepted to hold %d ahead, want %d", h.pool.ahead, deepPrefetch*h.pool.conc)
	}
	for range 20 {
		if _, err, _ := run(t, h, "pid", `{}`); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.Prefetch(); got != deepPrefetch*slots {
		t.Errorf("Prefetch() = %d after short jobs (mean %v), want %d", got, time.Duration(h.pool.work.Load()), deepPrefetch*slots)
	}
	sleep := &handler{name: "asleep", pool: h.pool}
	for range 10 {
		if _, err, _ := run(t, sleep, "asleep", `{"seconds": 0.05}`); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.Prefetch(); got != slots {
		t.Errorf("Prefetch() = %d after 50 ms jobs (mean %v), want %d", got, time.Duration(h.pool.work.Load()), slots)
	}

	two := 2
	hs, _ = provision(t, Kind{}, pyEntry(t, func(_ *config.Algorithm, o *Options) { o.Prefetch = &two }))
	h = hs["pid"].(*handler)
	for range 20 {
		if _, err, _ := run(t, h, "pid", `{}`); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.Prefetch(); got != h.pool.max*two {
		t.Errorf("Prefetch() = %d with prefetch: 2 after short jobs, want %d", got, h.pool.max*two)
	}
}
