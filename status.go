package conveyor

// Status is where a job is in its life. The zero value is not a valid status.
type Status string

// The statuses of a job. The transitions between them are the table
// [transitions]; [Status.CanMoveTo] consults it.
const (
	// StatusScheduled: accepted and durably stored, waiting for its time
	// (a submit with delay or run_at). The broker's message scheduler
	// queues it then; a runner may pick it up at once (scheduled →
	// running) or a gateway marks it queued first; a cancel moves it to
	// canceled, and it never runs.
	StatusScheduled Status = "scheduled"
	// StatusQueued: accepted and durably stored, waiting for a runner. A runner
	// picking the job up moves it to running; a cancel moves it to canceled.
	StatusQueued Status = "queued"
	// StatusRunning: an attempt is executing on a runner. The attempt ends in
	// succeeded or failed; a failed attempt with attempts left goes back to
	// queued (retry with backoff), and so does a pipeline job whose stage is
	// done, queued for its next stage; a runner crash redelivers the job,
	// which starts a new attempt (running → running); a cancel moves it to
	// canceled.
	StatusRunning Status = "running"
	// StatusSucceeded is final: the job has its output.
	StatusSucceeded Status = "succeeded"
	// StatusFailed is final: the last attempt's error is on the job.
	StatusFailed Status = "failed"
	// StatusCanceled is final: a client canceled the job.
	StatusCanceled Status = "canceled"
)

// Statuses lists every status in life order.
var Statuses = []Status{StatusScheduled, StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCanceled}

// transitions is the job state machine: for each status, the statuses a job
// may move to next. Terminal statuses have none.
var transitions = map[Status][]Status{
	StatusScheduled: {StatusQueued, StatusRunning, StatusCanceled},
	StatusQueued:    {StatusRunning, StatusCanceled, StatusFailed},
	StatusRunning:   {StatusRunning, StatusQueued, StatusSucceeded, StatusFailed, StatusCanceled},
	StatusSucceeded: nil,
	StatusFailed:    nil,
	StatusCanceled:  nil,
}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether s is final: succeeded, failed or canceled.
func (s Status) Terminal() bool {
	next, ok := transitions[s]
	return ok && len(next) == 0
}

// CanMoveTo reports whether the state machine allows a job in status s to
// move to next.
func (s Status) CanMoveTo(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// ParseStatus returns the status named s, or an EINVALID error.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", Errorf(EINVALID, "unknown status %q (want one of scheduled, queued, running, succeeded, failed, canceled)", s)
	}
	return st, nil
}

// checkTransition returns an ECONFLICT error when from may not move to to.
func checkTransition(from, to Status) error {
	if from.CanMoveTo(to) {
		return nil
	}
	if from.Terminal() {
		return Errorf(ECONFLICT, "job is already %s", from)
	}
	return Errorf(ECONFLICT, "job cannot move from %s to %s", from, to)
}
