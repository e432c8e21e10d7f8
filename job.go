package conveyor

import (
	"encoding/json"
	"strconv"
	"time"
)

// Job is one execution of an algorithm with one input. Its record is the
// unit of compare-and-swap in the job store: every change is made by one of
// the transition methods below, which enforce the state machine.
//
// Its first fields — id, algorithm, status, then tenant — stay first, in
// this order: the gateway's live view reads them from the front of a
// record without decoding the rest (gateway summarize, whose test
// TestSummarizeFastPath checks this order against json.Marshal).
type Job struct {
	ID        string `json:"id"`
	Algorithm string `json:"algorithm"`
	Status    Status `json:"status"`
	// Tenant is the tenant of the token that submitted the job, if any:
	// other tenants' tokens neither see nor cancel it.
	Tenant string          `json:"tenant,omitempty"`
	Input  json.RawMessage `json:"input"`
	// InputRef, when set, stands for an input too large for the record:
	// it is in the object store, and Input is empty (see PayloadRef).
	InputRef *PayloadRef     `json:"input_ref,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	// OutputRef, when set, stands for an output too large for the
	// record, as InputRef for an input: Output is empty.
	OutputRef      *PayloadRef       `json:"output_ref,omitempty"`
	Error          *JobError         `json:"error,omitempty"`
	Progress       *Progress         `json:"progress,omitempty"`
	Attempt        int               `json:"attempt"`
	MaxAttempts    int               `json:"max_attempts"`
	Timeout        Duration          `json:"timeout,omitempty"`
	Priority       Priority          `json:"priority"`
	Mutex          string            `json:"mutex,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	// Requires are the runner labels a runner must have to take the job
	// (see Requirements): only runners whose labels include every pair.
	Requires Requirements `json:"requires,omitempty"`
	// RetryOf is the id of the final job this one retries (POST
	// /v1/jobs/{id}/retry, or a bulk retry): same algorithm, input,
	// priority, labels, requires and tenant, as a new job.
	RetryOf   string    `json:"retry_of,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// RunAt is when a scheduled job (submitted with delay or run_at)
	// becomes due: queued then, and not before.
	RunAt *time.Time `json:"run_at,omitempty"`
	// StartedAt is when the job's first attempt started — of its first
	// stage, for a pipeline job; for a job a worker held behind another,
	// when the worker started it. Retries and later stages do not move it.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// FinishedAt is when the job became final.
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// RetryAt is when a job queued for another attempt becomes eligible.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	Runner  string     `json:"runner,omitempty"`
	// Pipeline and Stage are set on a job of a pipeline: what it runs and
	// where it is (see Advance).
	Pipeline *Pipeline `json:"pipeline,omitempty"`
	Stage    *Stage    `json:"stage,omitempty"`
	// Traceparent is the W3C trace context of the submit request, passed
	// on to the work (see ValidTraceparent).
	Traceparent string `json:"traceparent,omitempty"`
	// Callback, when set, is POSTed the job once it is final.
	Callback *Callback `json:"callback,omitempty"`
	// Artifacts are the files the job wrote (see Artifact): those of
	// each stage's succeeding attempt, a later stage's replacing an
	// earlier one's of the same name.
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// JobError is why an attempt or a job failed. Type is one of the ErrorType
// constants; Message is one line; Detail may hold more (a stderr tail).
type JobError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

// The types of JobError.
const (
	ErrorTypeError       = "error"        // the algorithm reported an error
	ErrorTypeTimeout     = "timeout"      // the attempt ran past its timeout
	ErrorTypeCanceled    = "canceled"     // a client canceled the job
	ErrorTypeCrashed     = "crashed"      // the process or runner died mid-attempt
	ErrorTypeMaxAttempts = "max_attempts" // no attempts left (wraps the last error)
	ErrorTypeInterrupted = "interrupted"  // the runner shut down mid-attempt
	ErrorTypeUnreachable = "unreachable"  // the service an algorithm forwards to could not be reached
)

func (e *JobError) Error() string {
	if e.Type == "" || e.Type == ErrorTypeError {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Progress is the last progress an attempt reported.
type Progress struct {
	Percent float64 `json:"percent"`
	Message string  `json:"message,omitempty"`
}

// Priority orders queued jobs. The zero value means normal.
type Priority string

// The priorities.
const (
	PriorityHigh   Priority = "high"
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// ParsePriority returns the priority named s ("" is normal), or an EINVALID error.
func ParsePriority(s string) (Priority, error) {
	switch p := Priority(s); p {
	case "":
		return PriorityNormal, nil
	case PriorityHigh, PriorityNormal, PriorityLow:
		return p, nil
	}
	return "", Errorf(EINVALID, "unknown priority %q (want high, normal or low)", s)
}

// DefaultMaxAttempts is how many attempts a job gets unless its algorithm or
// its submitter says otherwise.
const DefaultMaxAttempts = 3

// Start moves the job into a new attempt on runner at time now. It counts the
// attempt, so a job redelivered after a crash (already running) starts its
// next attempt; StartedAt is set by the job's first start only. It returns
// ECONFLICT when the job may not start: it is final, or it has no attempts
// left — then the caller must Fail it instead.
func (j *Job) Start(runner string, now time.Time) error {
	if err := checkTransition(j.Status, StatusRunning); err != nil {
		return err
	}
	if j.Attempt >= j.MaxAttempts {
		return Errorf(ECONFLICT, "job has used all %d attempts", j.MaxAttempts)
	}
	j.Status = StatusRunning
	j.Attempt++
	j.Runner = runner
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
	j.RetryAt = nil
	if j.Stage == nil { // a pipeline's progress carries over between stages
		j.Progress = nil
	}
	return nil
}

// Due moves a scheduled job whose time has come to queued. It returns
// ECONFLICT for a job that is not scheduled (a runner took it already, or
// it was canceled).
func (j *Job) Due() error {
	if j.Status != StatusScheduled {
		return Errorf(ECONFLICT, "job is %s, not scheduled", j.Status)
	}
	j.Status = StatusQueued
	return nil
}

// Succeed records the output of attempt and makes the job succeeded. It
// returns ECONFLICT when attempt is not the job's current running attempt:
// a result from a superseded attempt is never recorded.
func (j *Job) Succeed(attempt int, output json.RawMessage, now time.Time) error {
	if err := j.checkAttempt(attempt, StatusSucceeded); err != nil {
		return err
	}
	j.Status = StatusSucceeded
	j.Output = output
	j.Error = nil
	j.FinishedAt = &now
	if j.Progress != nil {
		j.Progress.Percent = 100
	}
	return nil
}

// FailAttempt records that attempt failed with cause. With attempts left and
// a retryable cause the job goes back to queued, eligible again at retryAt;
// otherwise it fails for good. It reports whether the job will be retried and
// returns ECONFLICT when attempt is not the current running attempt.
func (j *Job) FailAttempt(attempt int, cause *JobError, retryable bool, retryAt, now time.Time) (retry bool, err error) {
	if err := j.checkAttempt(attempt, StatusFailed); err != nil {
		return false, err
	}
	j.Error = cause
	if retryable && j.Attempt < j.MaxAttempts {
		j.Status = StatusQueued
		j.RetryAt = &retryAt
		return true, nil
	}
	if retryable && j.MaxAttempts > 1 {
		j.Error = &JobError{
			Type:    ErrorTypeMaxAttempts,
			Message: "all " + strconv.Itoa(j.MaxAttempts) + " attempts failed; last: " + cause.Error(),
			Detail:  cause.Detail,
		}
	}
	j.Status = StatusFailed
	j.FinishedAt = &now
	return false, nil
}

// Fail makes the job failed at once, whatever attempt it is in. It is used
// for a job found with no attempts left (an interrupted last attempt).
func (j *Job) Fail(cause *JobError, now time.Time) error {
	if err := checkTransition(j.Status, StatusFailed); err != nil {
		return err
	}
	j.Status = StatusFailed
	j.Error = cause
	j.FinishedAt = &now
	return nil
}

// Cancel makes a queued or running job canceled. It returns ECONFLICT for a
// job that is already final.
func (j *Job) Cancel(now time.Time) error {
	if err := checkTransition(j.Status, StatusCanceled); err != nil {
		return err
	}
	j.Status = StatusCanceled
	j.Error = &JobError{Type: ErrorTypeCanceled, Message: "canceled by request"}
	j.FinishedAt = &now
	j.RetryAt = nil
	return nil
}

// Report records progress for attempt; it returns ECONFLICT when attempt is
// no longer the job's running attempt.
func (j *Job) Report(attempt int, p Progress) error {
	if j.Status != StatusRunning || j.Attempt != attempt {
		return Errorf(ECONFLICT, "attempt %d is no longer running", attempt)
	}
	j.Progress = &p
	return nil
}

func (j *Job) checkAttempt(attempt int, to Status) error {
	if err := checkTransition(j.Status, to); err != nil {
		return err
	}
	if j.Status != StatusRunning || j.Attempt != attempt {
		return Errorf(ECONFLICT, "attempt %d was superseded by attempt %d", attempt, j.Attempt)
	}
	return nil
}
