//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

func TestRunResultAndOutput(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	out, err, rec := run(t, hs["word_count"], "word_count", `{"text": "a b c"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Words, Pid int }
	if err := json.Unmarshal(out, &got); err != nil || got.Words != 3 {
		t.Fatalf("output %s: %v", out, err)
	}
	logs, _ := rec.snapshot()
	slices.Sort(logs)
	if want := []string{"stderr: a warning", "stdout: counting 5 characters"}; !slices.Equal(logs, want) {
		t.Errorf("logs = %q, want %q", logs, want)
	}

	out, err, rec = run(t, hs["report"], "report", `{"steps": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	logs, progress := rec.snapshot()
	if fmt.Sprint(progress) != "[{50 step 1} {100 step 2}]" {
		t.Errorf("progress = %v", progress)
	}
	slices.Sort(logs) // stdout and the protocol are different pipes: no order between them
	if want := []string{"log: WARNING: careful", "log: done stepping", "stdout: printed last"}; !slices.Equal(logs, want) {
		t.Errorf("logs = %q, want %q", logs, want)
	}
	if string(out) != fmt.Sprint(got.Pid) {
		t.Errorf("report ran in pid %s, word_count in %d: want the same worker", out, got.Pid)
	}
}

func TestRunErrors(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	for _, tc := range []struct {
		alg, input, msg, detail string
		permanent               bool
	}{
		{"fail", `{}`, "ValueError: bad input file", "Traceback", true},
		{"fail", `{"retryable": true}`, "RetryableError: try again later", "RetryableError", false},
		{"word_count", `{"text": "x", "top": "3"}`, "invalid_input: input does not match the parameters of word_count: at /top: got string, want integer", "at /top", true},
		{"word_count", `{"text": "x", "colour": 1}`, "invalid_input", "unknown property 'colour'", true},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err, _ := run(t, hs[tc.alg], tc.alg, tc.input)
			je := jobError(t, err)
			if je.Type != conveyor.ErrorTypeError || !strings.HasPrefix(je.Message, tc.msg) || !strings.Contains(je.Detail, tc.detail) {
				t.Errorf("error = %+v, want %q with %q in detail", je, tc.msg, tc.detail)
			}
			if conveyor.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", conveyor.IsPermanent(err), tc.permanent)
			}
		})
	}
}

// holdJob starts a hold job in the background and waits until it runs.
// It returns the job's recorder and a channel with its result.
func holdJob(t *testing.T, ctx context.Context, h *handler, input string) (*recorder, chan error) {
	t.Helper()
	rec := &recorder{}
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(ctx, task("hold", input, rec))
		done <- err
	}()
	testenv.Eventually(t, "the hold job to report progress", func() bool { _, p := rec.snapshot(); return len(p) > 0 })
	return rec, done
}

func TestCancel(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) { e.Grace = conveyor.Duration(300 * time.Millisecond) }))
	h := hs["hold"].(*handler)
	never := filepath.Join(t.TempDir(), "never")
	pid := pidOf(t, h)

	t.Run("honoured", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		_, done := holdJob(t, ctx, h, fmt.Sprintf(`{"path": %q}`, never))
		cancel()
		if err := result(t, done); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the worker stopped the job") {
			t.Fatalf("Run = %v, want the worker to stop it", err)
		}
		if got := pidOf(t, h); got != pid {
			t.Errorf("after an honoured cancel the job ran in pid %d, want the same worker %d", got, pid)
		}
	})
	t.Run("ignored", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		rec, done := holdJob(t, ctx, h, fmt.Sprintf(`{"path": %q, "honour_cancel": false}`, never))
		start := time.Now()
		cancel()
		err := result(t, done)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "process group was killed") {
			t.Fatalf("Run = %v, want a kill", err)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("Run returned %v after the cancel, before the 300ms grace was over", d)
		}
		if alive(pid) {
			t.Errorf("worker %d still alive after the kill", pid)
		}
		if logs, _ := rec.snapshot(); !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "did not stop the job within the 300ms grace") }) {
			t.Errorf("job logs %q do not say why the worker was killed", logs)
		}
		if got := pidOf(t, h); got == pid {
			t.Errorf("job ran in the killed worker %d", pid)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := h.Run(ctx, task("hold", fmt.Sprintf(`{"path": %q}`, never), &recorder{}))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want a deadline error", err)
		}
		pidOf(t, h) // the worker is usable
	})
}

func TestCrashMidJob(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	pid := pidOf(t, hs["pid"])
	_, err, rec := run(t, hs["crash"], "crash", `{"code": 3}`)
	je := jobError(t, err)
	if je.Type != conveyor.ErrorTypeCrashed || !strings.Contains(je.Message, "exited with status 3") || !strings.Contains(je.Detail, "about to crash") {
		t.Fatalf("error = %+v", je)
	}
	if conveyor.IsPermanent(err) {
		t.Error("a crash must be retryable")
	}
	if logs, _ := rec.snapshot(); !slices.Contains(logs, "stderr: about to crash") {
		t.Errorf("logs = %q", logs)
	}
	if got := pidOf(t, hs["pid"]); got == pid || got == 0 {
		t.Errorf("after the crash pid = %d, want a new worker (old %d)", got, pid)
	}
}

func TestGarbageMidJob(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	out, err, rec := run(t, hs["garbage"], "garbage", `{}`)
	if err != nil || string(out) != `"still fine"` {
		t.Fatalf("Run = %s, %v", out, err)
	}
	logs, progress := rec.snapshot()
	if len(progress) != 0 {
		t.Errorf("progress of another job reached this one: %v", progress)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], `malformed protocol line: not a JSON object: "this is not a protocol line"`) {
		t.Errorf("logs = %q", logs)
	}
	pidOf(t, hs["pid"])
}

// TestNullInput checks that a task without input reaches the worker as
// null, which the SDK rejects for a function's parameters.
func TestNullInput(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t))
	_, err, _ := run(t, hs["pid"], "pid", ``)
	if je := jobError(t, err); !strings.Contains(je.Message, "got null, want object") {
		t.Errorf("error %+v", je)
	}
}
