//go:build unix

package execkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
)

// gone reports whether process pid no longer runs: it does not exist, or
// it is a zombie that nothing has reaped yet (when the test runs as a
// container's init, nothing ever will).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// pid (comm) state …; comm may hold spaces and parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(s[i+1:], " Z")
}

// assertGone fails unless process pid is gone soon (see testenv.Eventually).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	assertAllGone(t, []int{pid})
}

// start runs h in the background with a cancellable context and returns
// the recorder, the cancel function and a channel with Run's result.
func start(t *testing.T, ctx context.Context, h runner.Handler) (*recorder, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	rec := newRecorder()
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(ctx, &runner.Task{JobID: "j", Algorithm: "job", Input: json.RawMessage(`{}`), Attempt: 1, Reporter: rec})
		done <- err
	}()
	return rec, cancel, done
}

// result waits for Run to return.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
		return nil
	}
}

func TestCancelKillsGrandchild(t *testing.T) {
	tmp := t.TempDir()
	h := newHandler(t, []string{"sh", "testdata/grandchild.sh"}, withTmp(tmp))
	rec, cancel, done := start(t, context.Background(), h)
	pid, err := strconv.Atoi(rec.waitLog(t, "pid "))
	if err != nil {
		t.Fatal(err)
	}
	rec.waitLog(t, "ready")
	cancel()
	err = result(t, done)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want one wrapping context.Canceled", err)
	}
	// The grandchild ignores SIGTERM: only the group SIGKILL that follows
	// the leader's exit stops it.
	assertGone(t, pid)
	assertEmptyDir(t, tmp)
}

func TestCancelCause(t *testing.T) {
	h := newHandler(t, []string{"sh", "testdata/grandchild.sh"})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	rec, _, done := start(t, ctx, h)
	rec.waitLog(t, "ready")
	cause := errors.New("canceled by client")
	cancel(cause)
	if err := result(t, done); !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("Run error = %v, want one wrapping context.Canceled and the cause", err)
	}
}

func TestSIGKILLAfterGrace(t *testing.T) {
	const grace = 300 * time.Millisecond
	tmp := t.TempDir()
	h := newHandler(t, []string{"sh", "testdata/ignoreterm.sh"}, withTmp(tmp), func(e *config.Algorithm, _ *Options) {
		e.Grace = conveyor.Duration(grace)
	})
	rec, cancel, done := start(t, context.Background(), h)
	rec.waitLog(t, "ready")
	canceled := time.Now()
	cancel()
	err := result(t, done)
	if elapsed := time.Since(canceled); elapsed < grace {
		t.Errorf("Run returned %v after cancel, before the %v grace period", elapsed, grace)
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "SIGKILL") {
		t.Errorf("Run error = %v, want one wrapping context.Canceled that says SIGKILL", err)
	}
	assertEmptyDir(t, tmp)
}

func TestTimeout(t *testing.T) {
	tmp := t.TempDir()
	h := newHandler(t, []string{"sh", "testdata/grandchild.sh"}, withTmp(tmp))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rec, _, done := start(t, ctx, h)
	err := result(t, done)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if v, ok := rec.logValue("pid "); ok {
		pid, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		assertGone(t, pid)
	}
	assertEmptyDir(t, tmp)
}

func TestCanceledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, done := start(t, ctx, pyScript(t))
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want one wrapping context.Canceled", err)
	}
}

// pidOutput returns the pid in an output {"pid": N}.
func pidOutput(t *testing.T, out json.RawMessage, err error) int {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ PID int }
	if err := json.Unmarshal(out, &v); err != nil || v.PID == 0 {
		t.Fatalf("output %s: %v", out, err)
	}
	return v.PID
}

func TestLeftoverProcessKilled(t *testing.T) {
	// The script exits 0 but leaves a process in its group holding stdout
	// for 300s: Run kills it, which closes the pipe, and returns. With a
	// drain timeout of an hour, a Run that waited for the pipe instead
	// would not return at all.
	h := newHandler(t, []string{"sh", "testdata/daemon.sh"})
	h.drain = time.Hour
	type result struct {
		out json.RawMessage
		err error
	}
	done := make(chan result, 1)
	go func() { out, err, _ := run(t, h, `{}`); done <- result{out, err} }()
	select {
	case r := <-done:
		assertGone(t, pidOutput(t, r.out, r.err))
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute: it waits for the pipe the leftover process holds instead of killing it")
	}
}

// escapees returns the pids of the three processes testdata/escapes.sh
// starts, once it is ready. The test's cleanup kills any that are left.
func escapees(t *testing.T, rec *recorder) []int {
	t.Helper()
	rec.waitLog(t, "ready")
	logs, _ := rec.snapshot()
	var pids []int
	for _, l := range logs {
		if v, ok := strings.CutPrefix(l.line, "pid "); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
	}
	if len(pids) != 3 {
		t.Fatalf("escapes.sh reported pids %v, want 3", pids)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pids
}

// assertAllGone fails unless every process of pids is gone soon: polled,
// since the kernel sends no event for another's process.
func assertAllGone(t *testing.T, pids []int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("processes %v to be gone", pids), func() bool {
		for _, pid := range pids {
			if !gone(pid) {
				return false
			}
		}
		return true
	})
}

// TestCancelKillsEscapedProcesses: cancel stops every process the job
// started, also those in a session of their own and orphans.
func TestCancelKillsEscapedProcesses(t *testing.T) {
	h := newHandler(t, []string{"sh", "testdata/escapes.sh"})
	rec, cancel, done := start(t, context.Background(), h)
	pids := escapees(t, rec)
	cancel()
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want one wrapping context.Canceled", err)
	}
	assertAllGone(t, pids)
}

// TestTimeoutKillsEscapedProcesses: so does a timeout.
func TestTimeoutKillsEscapedProcesses(t *testing.T) {
	h := newHandler(t, []string{"sh", "testdata/escapes.sh"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rec, _, done := start(t, ctx, h)
	pids := escapees(t, rec)
	if err := result(t, done); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	assertAllGone(t, pids)
}

// TestExitKillsEscapedProcesses: a job that succeeds leaves nothing
// running behind either, and Run does not wait for the drain timeout.
func TestExitKillsEscapedProcesses(t *testing.T) {
	h := newHandler(t, []string{"sh", "testdata/escapes.sh", "exit"})
	h.drain = time.Hour
	rec, _, done := start(t, context.Background(), h)
	pids := escapees(t, rec)
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	assertAllGone(t, pids)
}
