package conveyor

import (
	"encoding/json"
	"testing"
	"time"
)

func newJob() *Job {
	return &Job{ID: "j", Algorithm: "a", Status: StatusQueued, MaxAttempts: 2}
}

func TestJobLifecycle(t *testing.T) {
	now := time.Now()
	j := newJob()
	if err := j.Start("r1", now); err != nil {
		t.Fatal(err)
	}
	if j.Attempt != 1 || j.Status != StatusRunning || j.Runner != "r1" {
		t.Fatalf("after start: %+v", j)
	}
	retry, err := j.FailAttempt(1, &JobError{Type: ErrorTypeError, Message: "boom"}, true, now, now)
	if err != nil || !retry || j.Status != StatusQueued {
		t.Fatalf("first failure: retry=%v err=%v status=%s", retry, err, j.Status)
	}
	if err := j.Start("r2", now); err != nil {
		t.Fatal(err)
	}
	// A late result from attempt 1 is fenced off.
	if err := j.Succeed(1, json.RawMessage(`1`), now); ErrorCode(err) != ECONFLICT {
		t.Fatalf("stale result: err = %v, want conflict", err)
	}
	retry, err = j.FailAttempt(2, &JobError{Type: ErrorTypeTimeout, Message: "slow"}, true, now, now)
	if err != nil || retry || j.Status != StatusFailed || j.Error.Type != ErrorTypeMaxAttempts {
		t.Fatalf("last failure: retry=%v err=%v job=%+v", retry, err, j)
	}
	if err := j.Cancel(now); ErrorCode(err) != ECONFLICT {
		t.Fatalf("cancel of a failed job: %v", err)
	}
}

func TestJobCrashUsesAnAttempt(t *testing.T) {
	now := time.Now()
	j := newJob()
	_ = j.Start("r1", now)
	// Redelivered after the runner died: running → running, next attempt.
	if err := j.Start("r2", now); err != nil || j.Attempt != 2 {
		t.Fatalf("restart: attempt=%d err=%v", j.Attempt, err)
	}
	if err := j.Start("r3", now); ErrorCode(err) != ECONFLICT {
		t.Fatalf("start past max attempts: %v", err)
	}
	if err := j.Fail(&JobError{Type: ErrorTypeCrashed, Message: "runner died"}, now); err != nil || j.Status != StatusFailed {
		t.Fatalf("fail: %v %s", err, j.Status)
	}
}

func TestPermanentFailureSkipsRetries(t *testing.T) {
	now := time.Now()
	j := newJob()
	_ = j.Start("r1", now)
	retry, err := j.FailAttempt(1, &JobError{Type: ErrorTypeError, Message: "bad input"}, false, now, now)
	if err != nil || retry || j.Status != StatusFailed || j.Error.Type != ErrorTypeError {
		t.Fatalf("permanent: retry=%v err=%v job=%+v", retry, err, j)
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{`"90s"`: 90 * time.Second, `2.5`: 2500 * time.Millisecond, `"1h"`: time.Hour, `"3"`: 3 * time.Second} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.Std() != want {
			t.Errorf("%s: got %v, %v; want %v", in, d.Std(), err, want)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil {
		t.Error("want an error for \"soon\"")
	}
}
