package runner

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// The runner's decisions on a job record, apart from the I/O around them
// (attempt.go): each is a change of the record, given what the runner
// knows, made inside a compare-and-swap; none reads or writes anything
// else, so each is tested on its own (decide_test.go).

// startChange is the change of record j that starts the attempt of the
// job whose queue message q the runner runner took at now. It returns
// errMovedOn for a message of a pipeline stage the job has left,
// errNotYet (and when the job is due) for a retry or a delayed job
// delivered early; it fails as crashed a job whose last attempt was
// interrupted (its runner stopped or died) with no attempts left; else it
// starts the next attempt, or refuses a job that cannot start (final).
func startChange(j *conveyor.Job, q broker.Queued, runner string, now time.Time) (due time.Duration, err error) {
	switch {
	case j.Step() != q.Step:
		return 0, errMovedOn
	case j.Status == conveyor.StatusQueued && j.RetryAt != nil && j.RetryAt.Sub(now) > time.Millisecond:
		return j.RetryAt.Sub(now), errNotYet
	case j.Attempt == 0 && j.RunAt != nil && j.RunAt.After(now):
		// A delayed job, queued a little early by the broker's scheduler
		// (see broker.ScheduleJob): held until its time — to the
		// nanosecond, so that no job starts before its run_at.
		return j.RunAt.Sub(now), errNotYet
	case j.Status == conveyor.StatusRunning && j.Attempt >= j.MaxAttempts:
		return 0, j.Fail(j.StageError(&conveyor.JobError{
			Type:    conveyor.ErrorTypeCrashed,
			Message: fmt.Sprintf("attempt %d was interrupted (runner %s stopped or crashed) and no attempts are left", j.Attempt, j.Runner),
		}), now)
	}
	return 0, j.Start(runner, now)
}

// attemptEnd is how an attempt's work ended, as the outcome's change needs it.
type attemptEnd struct {
	n        int                  // the attempt
	out      json.RawMessage      // the output, when the work succeeded
	outRef   *conveyor.PayloadRef // the output as stored, when large: not out
	route    conveyor.Route       // where the output goes, in a pipeline
	arts     []conveyor.Artifact  // stored as the attempt ended
	err      error                // the work's error (nil: succeeded)
	cause    error                // why its context ended early (a timeout), or nil
	timeout  time.Duration        // the attempt's time limit, for its error
	progress *conveyor.Progress   // the last progress reported, if any
	// began is when the attempt started, begun when its work did: later
	// for a job a worker held behind others (see Task.Begin).
	began, begun time.Time
}

// endResult is what recording an attempt's end did to the record.
type endResult struct {
	retry    bool                // failed, with attempts left: queued again
	advanced bool                // moved on to the pipeline's next stage
	kept     bool                // the record took the attempt's artifacts
	replaced []conveyor.Artifact // an earlier stage's of the same names, dropped
	// oldInput is the stage input the move to the next stage replaced,
	// when it was stored (its file is no longer needed).
	oldInput *conveyor.PayloadRef
}

// outcomeChange is the change of record j that records the end e of its
// attempt at now: succeeded (or moved on to the next stage), failed for
// good, or failed with attempts left, to be retried after the backoff.
// A record changed under the attempt (canceled, superseded) refuses it
// with ECONFLICT.
func outcomeChange(j *conveyor.Job, e attemptEnd, now time.Time) (endResult, error) {
	if e.progress != nil && j.Status == conveyor.StatusRunning && j.Attempt == e.n {
		j.Progress = e.progress
	}
	if j.StartedAt != nil && j.StartedAt.Equal(e.began) && e.begun.After(e.began) && j.Attempt == e.n {
		// The job started with this attempt, whose work began later than
		// the attempt (held by its worker): it started then.
		at := e.begun.UTC()
		j.StartedAt = &at
	}
	if e.err == nil && e.cause == nil {
		if j.Finishes(e.route) {
			if err := j.Succeed(e.n, e.out, now); err != nil {
				return endResult{}, err
			}
			if e.outRef != nil {
				j.Output, j.OutputRef = nil, e.outRef
			}
			return endResult{kept: true, replaced: j.AddArtifacts(e.arts)}, nil
		}
		var oldInput *conveyor.PayloadRef
		if j.Stage != nil {
			oldInput = j.Stage.InputRef
		}
		err := j.Advance(e.n, e.out, e.route)
		switch {
		case err == nil:
			if e.outRef != nil {
				j.Stage.Input, j.Stage.InputRef = nil, e.outRef
			}
			return endResult{advanced: true, kept: true, replaced: j.AddArtifacts(e.arts), oldInput: oldInput}, nil
		case conveyor.ErrorCode(err) == conveyor.ECONFLICT:
			return endResult{}, err
		}
		// A route to nowhere, or too many steps: the job fails.
		_, err = j.FailAttempt(e.n, j.StageError(&conveyor.JobError{Type: conveyor.ErrorTypeError, Message: err.Error()}), false, now, now)
		return endResult{}, err
	}
	jerr, retryable := attemptError(e.err, e.cause, e.timeout)
	retry, err := j.FailAttempt(e.n, j.StageError(jerr), retryable, now.Add(retryBackoff.Delay(e.n-1)), now)
	return endResult{retry: retry}, err
}
