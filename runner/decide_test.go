package runner

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

var decideNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// job returns a queued job with 3 attempts, changed by change.
func job(change func(j *conveyor.Job)) *conveyor.Job {
	j := &conveyor.Job{ID: "01JOB", Algorithm: "a", Status: conveyor.StatusQueued, Input: json.RawMessage(`{}`), MaxAttempts: 3, CreatedAt: decideNow.Add(-time.Minute)}
	if change != nil {
		change(j)
	}
	return j
}

func TestStartChange(t *testing.T) {
	soon := decideNow.Add(3 * time.Second)
	barely := decideNow.Add(500 * time.Microsecond)
	started := decideNow.Add(-time.Second)
	pipeline := func(j *conveyor.Job) { j.EnterPipeline(conveyor.Pipeline{Stages: []string{"a", "b"}}) }
	for _, c := range []struct {
		name   string
		j      *conveyor.Job
		q      broker.Queued
		err    error // errMovedOn, errNotYet, or nil: look at status
		due    time.Duration
		status conveyor.Status
		errTyp string
	}{
		{"a fresh job starts", job(nil), broker.Queued{}, nil, 0, conveyor.StatusRunning, ""},
		{"a retry that is due starts", job(func(j *conveyor.Job) { j.Attempt, j.RetryAt = 1, &started }), broker.Queued{}, nil, 0, conveyor.StatusRunning, ""},
		{"a retry not due waits", job(func(j *conveyor.Job) { j.Attempt, j.RetryAt = 1, &soon }), broker.Queued{}, errNotYet, 3 * time.Second, conveyor.StatusQueued, ""},
		{"a delayed job queued early waits", job(func(j *conveyor.Job) { j.RunAt = &soon }), broker.Queued{}, errNotYet, 3 * time.Second, conveyor.StatusQueued, ""},
		{"a delayed job half a millisecond early waits", job(func(j *conveyor.Job) { j.RunAt = &barely }), broker.Queued{}, errNotYet, 500 * time.Microsecond, conveyor.StatusQueued, ""},
		{"a delayed job on time starts", job(func(j *conveyor.Job) { j.RunAt = &decideNow }), broker.Queued{}, nil, 0, conveyor.StatusRunning, ""},
		{"a stage's message after the job moved on", job(func(j *conveyor.Job) {
			pipeline(j)
			j.Stage.Step, j.Stage.Index, j.Stage.Name = 1, 1, "b"
		}), broker.Queued{Step: 0}, errMovedOn, 0, conveyor.StatusQueued, ""},
		{"an interrupted attempt with attempts left runs again", job(func(j *conveyor.Job) {
			j.Status, j.Attempt, j.StartedAt, j.Runner = conveyor.StatusRunning, 2, &started, "gone"
		}), broker.Queued{}, nil, 0, conveyor.StatusRunning, ""},
		{"an interrupted last attempt fails as crashed", job(func(j *conveyor.Job) {
			j.Status, j.Attempt, j.StartedAt, j.Runner = conveyor.StatusRunning, 3, &started, "gone"
		}), broker.Queued{}, nil, 0, conveyor.StatusFailed, conveyor.ErrorTypeCrashed},
	} {
		t.Run(c.name, func(t *testing.T) {
			attempt := c.j.Attempt
			due, err := startChange(c.j, c.q, "me", decideNow)
			switch {
			case c.err != nil && !errors.Is(err, c.err):
				t.Fatalf("err %v, want %v", err, c.err)
			case c.err == nil && err != nil:
				t.Fatalf("err %v", err)
			}
			if due != c.due || c.j.Status != c.status {
				t.Errorf("due in %s, status %s; want %s, %s", due, c.j.Status, c.due, c.status)
			}
			if c.status == conveyor.StatusRunning && (c.j.Attempt != attempt+1 || c.j.Runner != "me") {
				t.Errorf("attempt %d on %s, want attempt %d on me", c.j.Attempt, c.j.Runner, attempt+1)
			}
			if c.errTyp != "" && (c.j.Error == nil || c.j.Error.Type != c.errTyp) {
				t.Errorf("error %+v, want type %s", c.j.Error, c.errTyp)
			}
		})
	}
	// A final job cannot start: the runner acknowledges its message.
	done := job(func(j *conveyor.Job) { j.Status = conveyor.StatusCanceled })
	if _, err := startChange(done, broker.Queued{}, "me", decideNow); conveyor.ErrorCode(err) != conveyor.ECONFLICT {
		t.Errorf("starting a canceled job: %v, want ECONFLICT", err)
	}
}

func TestOutcomeChange(t *testing.T) {
	running := func(n int, change func(j *conveyor.Job)) *conveyor.Job {
		return job(func(j *conveyor.Job) {
			if change != nil {
				change(j)
			}
			j.Status, j.Attempt, j.Runner = conveyor.StatusRunning, n, "me"
			s := decideNow.Add(-time.Second)
			j.StartedAt = &s
		})
	}
	pipeline := func(j *conveyor.Job) { j.EnterPipeline(conveyor.Pipeline{Stages: []string{"a", "b"}}) }
	art := []conveyor.Artifact{{Name: "model.bin", File: "01FILE"}}
	boom := errors.New("boom")
	for _, c := range []struct {
		name   string
		j      *conveyor.Job
		e      attemptEnd
		want   endResult
		status conveyor.Status
		errTyp string
	}{
		{"success", running(1, nil), attemptEnd{n: 1, out: json.RawMessage(`{"ok":true}`), arts: art},
			endResult{kept: true}, conveyor.StatusSucceeded, ""},
		{"a stage's success moves the job on", running(1, pipeline), attemptEnd{n: 1, out: json.RawMessage(`{"x":1}`), arts: art},
			endResult{advanced: true, kept: true}, conveyor.StatusQueued, ""},
		{"a route to nowhere fails the job", running(1, pipeline), attemptEnd{n: 1, out: json.RawMessage(`{}`), route: conveyor.Route{Next: "nowhere"}},
			endResult{}, conveyor.StatusFailed, conveyor.ErrorTypeError},
		{"a failure with attempts left is retried", running(1, nil), attemptEnd{n: 1, err: boom},
			endResult{retry: true}, conveyor.StatusQueued, conveyor.ErrorTypeError},
		{"a permanent failure is final", running(1, nil), attemptEnd{n: 1, err: conveyor.Permanent(boom)},
			endResult{}, conveyor.StatusFailed, conveyor.ErrorTypeError},
		{"the last attempt's failure is final", running(3, nil), attemptEnd{n: 3, err: boom},
			endResult{}, conveyor.StatusFailed, conveyor.ErrorTypeMaxAttempts},
		{"a timeout is retried as a timeout", running(1, nil), attemptEnd{n: 1, cause: errTimeout, timeout: time.Second},
			endResult{retry: true}, conveyor.StatusQueued, conveyor.ErrorTypeTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := outcomeChange(c.j, c.e, decideNow)
			if err != nil {
				t.Fatal(err)
			}
			if got.retry != c.want.retry || got.advanced != c.want.advanced || got.kept != c.want.kept {
				t.Errorf("result %+v, want %+v", got, c.want)
			}
			if c.j.Status != c.status {
				t.Errorf("status %s, want %s", c.j.Status, c.status)
			}
			if c.errTyp != "" && (c.j.Error == nil || c.j.Error.Type != c.errTyp) {
				t.Errorf("error %+v, want type %s", c.j.Error, c.errTyp)
			}
			if c.want.kept && len(c.j.Artifacts) != 1 {
				t.Errorf("artifacts %+v, want the attempt's", c.j.Artifacts)
			}
			if c.want.retry && (c.j.RetryAt == nil || !c.j.RetryAt.After(decideNow)) {
				t.Errorf("retry at %v, want after now", c.j.RetryAt)
			}
		})
	}
	// A record that moved on under the attempt (canceled) refuses it.
	canceled := running(1, nil)
	canceled.Status = conveyor.StatusCanceled
	if _, err := outcomeChange(canceled, attemptEnd{n: 1, out: json.RawMessage(`{}`)}, decideNow); conveyor.ErrorCode(err) != conveyor.ECONFLICT {
		t.Errorf("the outcome of a canceled job's attempt: %v, want ECONFLICT", err)
	}
	// The last progress is kept with the outcome.
	p := &conveyor.Progress{Percent: 40, Message: "halfway"}
	j := running(1, nil)
	if _, err := outcomeChange(j, attemptEnd{n: 1, err: boom, progress: p}, decideNow); err != nil || j.Progress == nil || j.Progress.Message != "halfway" {
		t.Errorf("progress %+v (%v), want the last reported", j.Progress, err)
	}
	// A job held by its worker behind others started when its work began;
	// a later attempt keeps the job's first start.
	held, began, begun := running(1, nil), decideNow.Add(-time.Second), decideNow.Add(-200*time.Millisecond)
	if _, err := outcomeChange(held, attemptEnd{n: 1, out: json.RawMessage(`{}`), began: began, begun: begun}, decideNow); err != nil || !held.StartedAt.Equal(begun) {
		t.Errorf("held job's start %v (%v), want when its work began %v", held.StartedAt, err, begun)
	}
	second := running(2, nil)
	first := *second.StartedAt
	if _, err := outcomeChange(second, attemptEnd{n: 2, out: json.RawMessage(`{}`), began: decideNow.Add(-100 * time.Millisecond), begun: decideNow.Add(-50 * time.Millisecond)}, decideNow); err != nil || !second.StartedAt.Equal(first) {
		t.Errorf("second attempt's job start %v (%v), want the first attempt's %v", second.StartedAt, err, first)
	}
	// A large output stored: the record holds its reference, as the
	// job's output or as the next stage's input; the stage input it
	// replaces is given back, to be removed.
	big := json.RawMessage(`{"big":true}`)
	ref := &conveyor.PayloadRef{File: "01OUT", Size: int64(len(big))}
	j = running(1, nil)
	if _, err := outcomeChange(j, attemptEnd{n: 1, out: big, outRef: ref}, decideNow); err != nil || j.Output != nil || j.OutputRef != ref {
		t.Errorf("a stored output: output %s, ref %+v (%v)", j.Output, j.OutputRef, err)
	}
	j = running(1, pipeline)
	old := &conveyor.PayloadRef{File: "01IN"}
	j.Stage.InputRef = old
	got, err := outcomeChange(j, attemptEnd{n: 1, out: big, outRef: ref}, decideNow)
	if err != nil || !got.advanced || j.Stage.Input != nil || j.Stage.InputRef != ref || got.oldInput != old || j.OutputRef != nil {
		t.Errorf("a stored stage output: stage %+v, result %+v (%v)", j.Stage, got, err)
	}
}
