//go:build unix

package execkind

import (
	"context"
	"encoding/json"
	"errors"
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

// assertGone fails unless process pid is gone within a few seconds.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling: the kernel sends no event
	}
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
	h := newHandler(t, []string{"sh", "testdata/ignoreterm.sh"}, withTmp(tmp), func(e *config.Algorithm) {
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

func TestEscapedProcessDoesNotBlock(t *testing.T) {
	// A process in its own session is out of reach of the group kill; the
	// pipes it holds open are closed after the drain timeout.
	h := newHandler(t, []string{testenv.Python(t), "testdata/escape.py"})
	h.drain = 200 * time.Millisecond
	out, err, _ := run(t, h, `{}`)
	pid := pidOutput(t, out, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if gone(pid) {
		t.Errorf("escaped process %d is gone; the test proves nothing", pid)
	}
}
