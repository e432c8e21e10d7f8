package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

func TestExecJobLogsAndProgress(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": "one two three"}}, "?wait=20s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"words":3}` {
		t.Fatalf("job: %+v output %s error %+v", j, j.Output, j.Error)
	}
	if j.Progress == nil || j.Progress.Percent != 100 {
		t.Fatalf("progress: %+v", j.Progress)
	}
	var logs conveyor.LogList
	s.do("GET", "/v1/jobs/"+j.ID+"/logs", nil, &logs)
	var lines []string
	for _, l := range logs.Logs {
		lines = append(lines, l.Stream+": "+l.Line)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"log: counting words", "stdout: a plain line", "stderr: to stderr"} {
		if !strings.Contains(text, want) {
			t.Fatalf("logs lack %q:\n%s", want, text)
		}
	}
}

func TestRetriesThenFails(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": "x", "fail": true}, "max_attempts": 2}, "", http.StatusAccepted)
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusFailed || done.Attempt != 2 || done.Error == nil || done.Error.Type != conveyor.ErrorTypeMaxAttempts || !strings.Contains(done.Error.Message, "asked to fail") {
		t.Fatalf("job: %+v error %+v", done, done.Error)
	}
}

func TestTimeout(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 30}, "timeout": "200ms", "max_attempts": 1}, "", http.StatusAccepted)
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusFailed || done.Error == nil || done.Error.Type != conveyor.ErrorTypeTimeout {
		t.Fatalf("job: %+v error %+v", done, done.Error)
	}
}

// slowRetryInput is the input of slow_retry: a key, whose first attempt
// fails at once and whose later ones take Millis.
type slowRetryInput struct {
	Key    string `json:"key"`
	Millis int    `json:"millis"`
}

var (
	slowRetryMu   sync.Mutex
	slowRetrySeen = map[string]bool{}
)

// slowRetryKey returns the test's name as a key of slow_retry, forgotten
// when the test ends so that a run again (-count=2) fails its first
// attempt too. Call it before startServer: cleanups run last first, so
// the key is forgotten only once the server has stopped.
func slowRetryKey(t *testing.T) string {
	key := t.Name()
	t.Cleanup(func() {
		slowRetryMu.Lock()
		delete(slowRetrySeen, key)
		slowRetryMu.Unlock()
	})
	return key
}

var registerSlowRetry = sync.OnceFunc(func() {
	gokind.Register("slow_retry", func(ctx context.Context, in slowRetryInput) (map[string]any, error) {
		slowRetryMu.Lock()
		seen := slowRetrySeen[in.Key]
		slowRetrySeen[in.Key] = true
		slowRetryMu.Unlock()
		if !seen {
			return nil, errors.New("first attempt fails")
		}
		select {
		case <-time.After(time.Duration(in.Millis) * time.Millisecond):
			return map[string]any{"ok": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
})

// TestRetryTimeoutFromItsStart: a retry's timeout counts from that
// attempt's start, not from the job's started_at (its first attempt's).
// The retry waits at least 0.5 s, so a timeout counted from the first
// start would leave the 1.1 s second attempt at most 1 s of its 1.5 s.
func TestRetryTimeoutFromItsStart(t *testing.T) {
	registerSlowRetry()
	key := slowRetryKey(t)
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "slow_retry", "input": slowRetryInput{Key: key, Millis: 1100}, "timeout": "1500ms", "max_attempts": 2}, "", http.StatusAccepted)
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusSucceeded || done.Attempt != 2 {
		t.Fatalf("job: %s in attempt %d, error %+v; want succeeded in attempt 2", done.Status, done.Attempt, done.Error)
	}
	if done.StartedAt == nil || done.FinishedAt.Sub(*done.StartedAt) < 1600*time.Millisecond {
		t.Fatalf("started_at %v, finished_at %v: want the first attempt's start", done.StartedAt, done.FinishedAt)
	}
}

func TestCancel(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}}, "", http.StatusAccepted)
	testenv.Eventually(t, "the job to run", func() bool {
		var cur conveyor.Job
		s.do("GET", "/v1/jobs/"+j.ID, nil, &cur)
		return cur.Status == conveyor.StatusRunning
	})
	var c conveyor.Job
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, &c); resp.StatusCode != 200 || c.Status != conveyor.StatusCanceled {
		t.Fatalf("cancel: %d %+v", resp.StatusCode, c)
	}
	// The runner lets go of it: its slot frees up.
	testenv.Eventually(t, "the runner to stop the job", func() bool {
		var rl conveyor.RunnerList
		s.do("GET", "/v1/runners", nil, &rl)
		return s.app.Runner().Info().Busy == 0
	})
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second cancel: %d, want 409", resp.StatusCode)
	}
	if done := s.wait(j.ID); done.Status != conveyor.StatusCanceled || done.Error.Type != conveyor.ErrorTypeCanceled {
		t.Fatalf("after cancel: %+v", done)
	}
}

// TestCancelKillsExecGrandchild cancels a running exec job over HTTP and
// checks that the grandchild its script started is gone too.
func TestCancelKillsExecGrandchild(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "spawn", "input": map[string]any{}}, "", http.StatusAccepted)
	var pid int
	testenv.Eventually(t, "the grandchild to be started", func() bool {
		var logs conveyor.LogList
		s.do("GET", "/v1/jobs/"+j.ID+"/logs", nil, &logs)
		for _, l := range logs.Logs {
			if _, err := fmt.Sscanf(l.Line, "grandchild %d", &pid); err == nil {
				return true
			}
		}
		return false
	})
	if !alive(pid) {
		t.Fatalf("grandchild %d is not running before the cancel", pid)
	}
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	testenv.Eventually(t, "the grandchild to be killed", func() bool { return !alive(pid) })
	testenv.Eventually(t, "the runner to free the slot", func() bool { return s.app.Runner().Info().Busy == 0 })
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
