package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/backoff"
)

// Causes of an attempt's context ending early.
var (
	errCanceled   = errors.New("job canceled")
	errTimeout    = errors.New("attempt timed out")
	errShutdown   = errors.New("runner shutting down")
	errSuperseded = errors.New("attempt superseded by another")
	errNotYet     = errors.New("retry not due yet")
	errMovedOn    = errors.New("pipeline job moved on to another stage")
)

// retryBackoff spaces the attempts of a job, as the README promises: 1 s,
// 2 s, 4 s … capped at 5 min, each wait drawn from the upper half of its
// step so that jobs failing together do not retry together.
var retryBackoff = backoff.Policy{Base: time.Second, Max: 5 * time.Minute}

// attempt is one running attempt: the message that leases the job, the
// record as this runner means it to be, and the means to stop it.
type attempt struct {
	id    string
	n     int
	msg   delivery
	stop  func(cause error)
	rep   *reporter
	began time.Time

	mu  sync.Mutex // guards the fields below
	job *conveyor.Job
	rev uint64
	// recorded is whether the store has this attempt as running. Until it
	// has (see startDelay), job is the running record not yet written and
	// rev the revision of the queued record it replaces, so the first
	// write — start, progress or outcome — is a compare-and-swap against
	// the record the attempt was started from.
	recorded bool
}

// update changes the job record by compare-and-swap, starting from the
// record this attempt last wrote (or means to write first).
func (a *attempt) update(ctx context.Context, b brokerAPI, change func(*conveyor.Job) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, rev, err := b.UpdateJob(ctx, a.id, a.job, a.rev, change)
	if j != nil { // the record as written, or as found when change refused
		a.job, a.rev = j, rev
	}
	if err == nil {
		a.recorded = true
	}
	return err
}

// record writes the attempt's running record if it is not in the store
// yet. It returns ECONFLICT when the job changed meanwhile (a cancel).
func (a *attempt) record(ctx context.Context, b brokerAPI) error {
	a.mu.Lock()
	recorded := a.recorded
	a.mu.Unlock()
	if recorded {
		return nil
	}
	return a.update(ctx, b, func(j *conveyor.Job) error {
		if j.Status != conveyor.StatusRunning || j.Attempt != a.n {
			return conveyor.Errorf(conveyor.ECONFLICT, "job %s changed before attempt %d was recorded", a.id, a.n)
		}
		return nil // j is the running record, not yet written
	})
}

// isRecorded reports whether the store has the attempt as running.
func (a *attempt) isRecorded() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.recorded
}

// delivery is a job's queue message as the broker leased it to this
// runner (broker.Delivery).
type delivery interface {
	Queued() broker.Queued
	Ack() error
	Nak() error
	NakWithDelay(time.Duration) error
	InProgress() error
	Deliveries() uint64
	Published() time.Time
}

var _ delivery = (*broker.Delivery)(nil)

// process takes one queue message, whose slot is taken, through one
// attempt of its job. It frees the slot once the handler has returned.
func (r *Runner) process(p *pool, msg delivery) {
	released := false
	release := func() {
		if !released {
			released = true
			p.release()
		}
	}
	defer release()
	ctx := r.ctx
	q := msg.Queued()
	log := jobLog{r.log, q.ID, p.alg.Name}
	now := time.Now().UTC()
	if q.Job != nil && q.Job.Status == conveyor.StatusQueued && q.Job.Attempt == 0 && (q.Job.RunAt == nil || !q.Job.RunAt.After(now)) &&
		msg.Deliveries() == 1 && r.unchanged(ctx, q) {
		// The common case: a fresh job on its first delivery. Start it
		// now and record it as running only if it outlasts startDelay.
		j := *q.Job
		if err := j.Start(r.cfg.ID, now); err == nil {
			r.run(p, msg, &j, q.Rev, false, now, log, release)
			return
		}
	}
	var retryIn time.Duration
	// Start the attempt by compare-and-swap on the record the message
	// carries; if the record moved on (a retry, a cancel) UpdateJob reads
	// the current one and decides again.
	j, rev, err := r.b.UpdateJob(ctx, q.ID, q.Job, q.Rev, func(j *conveyor.Job) error {
		var err error
		retryIn, err = startChange(j, q, r.cfg.ID, now)
		return err
	})
	switch {
	case errors.Is(err, errMovedOn):
		r.movedOn(msg, q, j, rev, log)
		return
	case errors.Is(err, errNotYet):
		_ = msg.NakWithDelay(retryIn) // redelivered early (e.g. after a restart)
		return
	case conveyor.ErrorCode(err) == conveyor.ENOTFOUND:
		log.Warn("dropping queued job with no record (expired)")
		_ = msg.Ack()
		return
	case conveyor.ErrorCode(err) == conveyor.ECONFLICT:
		_ = msg.Ack() // final already: canceled while queued, or a lost ack
		return
	case err != nil:
		// The broker is away or out of room: every queued message comes
		// back each second with the same error, so it is said once in a
		// while, with how many were not.
		if n, ok := r.startFailures.due(time.Now()); ok {
			log.Warn("start job", "err", err, "failures_since_last_said", n)
		}
		_ = msg.NakWithDelay(time.Second)
		return
	case j.Status != conveyor.StatusRunning:
		log.Warn("job failed: interrupted with no attempts left")
		_ = msg.Ack()
		r.mutexes.Released(j.Tenant, j.Mutex, j.ID)
		if r.cfg.Callbacks != nil {
			r.cfg.Callbacks.Ended(j)
		}
		return
	}
	r.run(p, msg, j, rev, true, now, log, release)
}

// movedOn handles a message of a pipeline stage the job has left: should
// the job wait, queued, for a stage whose message may have been lost (the
// runner that moved it on died before queueing it), it queues it again —
// the broker drops the copy if it was queued — and acknowledges msg.
func (r *Runner) movedOn(msg delivery, q broker.Queued, j *conveyor.Job, rev uint64, log jobLog) {
	if j.Status == conveyor.StatusQueued && j.Attempt == 0 && j.Step() > q.Step {
		if err := r.b.EnqueueJob(r.ctx, j, rev); err != nil {
			log.Warn("queue the stage again", "stage", j.Stage.Name, "err", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
	}
	_ = msg.Ack()
}

// unchanged reports whether the job is still as its message has it, so
// that a job canceled while queued is not started. A job its message alone
// holds (revision 0) is canceled by deleting the message, so only a cancel
// racing the delivery can reach it: the runner checks the cancels it heard
// (one it did not hear stops the attempt at the next heartbeat). For a
// stored job the runner reads the record's revision.
func (r *Runner) unchanged(ctx context.Context, q broker.Queued) bool {
	if q.Rev == 0 {
		return !r.wasCanceled(q.ID)
	}
	_, rev, err := r.b.GetJobRecord(ctx, q.ID)
	return err == nil && rev == q.Rev
}

// run executes a started attempt and records its outcome. j is the running
// record; recorded says whether the store has it, or still has the queued
// record at rev; began is when the attempt started (the job's StartedAt is
// when its first attempt did).
func (r *Runner) run(p *pool, msg delivery, j *conveyor.Job, rev uint64, recorded bool, began time.Time, log jobLog, release func()) {
	actx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	timeout := j.Timeout.Std()
	if timeout == 0 {
		timeout = p.alg.Timeout.Std()
	}
	// The timeout is the context's deadline, as Task promises; for a
	// late-beginning kind it is a timer instead, started when its work
	// begins (Task.Begin).
	var deadline time.Time
	tm := &attemptTimer{d: timeout, fire: func() { cancel(errTimeout) }}
	defer tm.stop()
	_, late := p.handler.(LateBeginner)
	if timeout > 0 && !late {
		deadline = began.Add(timeout)
		var stopDeadline context.CancelFunc
		actx, stopDeadline = context.WithDeadlineCause(actx, deadline, errTimeout)
		defer stopDeadline()
	}
	a := &attempt{id: j.ID, n: j.Attempt, msg: msg, stop: cancel, began: began, job: j, rev: rev, recorded: recorded}
	a.rep = newReporter(r.b, j.ID, j.Attempt, j.Stage, r.cfg.MaxLogBytes)
	if !recorded && j.Step() == 0 {
		// A job's first delivery, at its first stage: it has no log yet,
		// and its first line need not read the log's state.
		a.rep.log = &logCap{}
	}
	r.track(a)
	defer r.untrack(a)

	owner := conveyor.Job{ID: j.ID, Tenant: j.Tenant} // of the artifacts
	task := &Task{JobID: j.ID, Algorithm: p.alg.Name, Input: j.StageInput(), Attempt: j.Attempt, Traceparent: j.Traceparent, Deadline: deadline, Timeout: timeout, Reporter: a.rep}
	if timeout > 0 && late {
		task.begin = func(now time.Time) { task.Deadline = tm.arm(now) }
	}
	if j.Attempt == 1 {
		// From when the message was queued: each stage of a pipeline is
		// queued afresh when the one before it ends, and a job with a
		// mutex key when its turn comes.
		if at := msg.Published(); !at.IsZero() {
			p.metrics.queueWait.Observe(max(began.Sub(at), 0).Seconds())
		}
	}
	var out json.RawMessage
	var arts []conveyor.Artifact // stored; the job's once its record says so
	// A later stage's input is an earlier stage's output: its files must
	// be the job's tenant's (the gateway checked the first stage's).
	checkTenant := ""
	if j.Step() > 0 {
		checkTenant = j.Tenant
	}
	input, keepInput, runErr := r.stageInput(actx, j)
	artDir, removeFiles := (*artifactDir)(nil), func() {}
	if runErr == nil {
		input, artDir, removeFiles, runErr = r.localFiles(actx, p, input, checkTenant)
	}
	if runErr == nil {
		task.Input, task.artifacts = input, artDir
		out, runErr = safeRun(conveyor.WithReporter(actx, a.rep), p.handler, task)
		if runErr == nil && artDir != nil && actx.Err() == nil {
			out, arts, runErr = storeArtifacts(actx, r.b, artDir.made(), &owner, out)
		}
	}
	var outRef *conveyor.PayloadRef // a large output, stored
	if runErr == nil && actx.Err() == nil {
		if outRef, runErr = broker.StoreOutput(actx, r.b, &owner, out); runErr != nil {
			runErr = fmt.Errorf("store the output: %w", runErr)
		}
	}
	removeFiles()
	keepInput()
	// A late beginner's work began later (Task.Begin): a worker's job held
	// behind others, or waiting for its process to start, starts then.
	workFrom := a.began
	if t := task.Begun(); late && !t.IsZero() {
		workFrom = t
	}
	p.metrics.duration.Observe(time.Since(workFrom).Seconds())
	release()
	cause := context.Cause(actx)
	if actx.Err() == nil {
		cause = nil
	}
	a.rep.flush(r.ctx)

	outcome := p.metrics.attempt
	if cause != nil {
		dropArtifacts(r.ctx, r.b, arts) // stored as the attempt ended
		dropPayload(r.ctx, r.b, outRef)
	}
	switch cause {
	case errShutdown:
		outcome("interrupted")
		// Hand the job back: the next delivery starts the next attempt,
		// which counts this one if it was recorded.
		_ = msg.Nak()
		log.Info("attempt interrupted by shutdown", "attempt", a.n)
		return
	case errCanceled, errSuperseded:
		// The record already says so; the message belongs to whoever
		// holds the job now (a canceled job's message is acked).
		outcome(map[error]string{errCanceled: "canceled", errSuperseded: "superseded"}[cause])
		if cause == errCanceled {
			_ = msg.Ack()
			if pipeline := pipelineOf(a); pipeline != "" {
				p.metrics.stage(pipeline, conveyor.StatusCanceled)
			}
			// The attempt has stopped: only now may the next job of its
			// mutex key start (the gateways leave the key to this runner;
			// see gateway/mutex.go).
			a.mu.Lock()
			tenant, key := a.job.Tenant, a.job.Mutex
			a.mu.Unlock()
			r.mutexes.Released(tenant, key, a.id)
		}
		return
	}

	e := attemptEnd{n: a.n, out: out, outRef: outRef, route: task.Route(), arts: arts, err: runErr, cause: cause, timeout: timeout, progress: a.rep.last(),
		began: a.began, begun: workFrom}
	r.settle(p, msg, a, e, log)
}

// settle records how attempt a ended (e; its artifacts are e.arts,
// stored) and does what the outcome asks of msg: the decision is
// outcomeChange's, made on the record by compare-and-swap; settle is the
// I/O around it — the record's write, the artifacts the job did not
// take, the message acked, handed back for a retry or followed by the
// next stage's, the job's end duties, metrics and logs.
func (r *Runner) settle(p *pool, msg delivery, a *attempt, e attemptEnd, log jobLog) {
	outcome, arts, now := p.metrics.attempt, e.arts, time.Now().UTC()
	var o endResult
	err := a.update(r.ctx, r.b, func(j *conveyor.Job) error {
		var err error
		o, err = outcomeChange(j, e, now)
		return err
	})
	retry, advanced := o.retry, o.advanced
	switch {
	case err == nil && o.kept:
		dropArtifacts(r.ctx, r.b, o.replaced)
		dropPayload(r.ctx, r.b, o.oldInput)
	case err == nil || conveyor.ErrorCode(err) == conveyor.ECONFLICT:
		dropArtifacts(r.ctx, r.b, arts) // the job did not take them
		dropPayload(r.ctx, r.b, e.outRef)
	}
	// Otherwise the broker did not answer: the record may have them, so
	// they stay (the next attempt stores its own; these expire).
	switch {
	case conveyor.ErrorCode(err) == conveyor.ECONFLICT:
		// Canceled or superseded while running: this result is dropped.
		a.mu.Lock()
		final := a.job.Status.Terminal()
		a.mu.Unlock()
		if final {
			_ = msg.Ack()
			r.ended(a)
		}
		outcome("superseded")
		log.Info("result dropped: job changed under the attempt", "attempt", a.n, "err", err)
	case err != nil:
		// The broker did not take the outcome: leave the lease to lapse so
		// the job is redelivered rather than lost.
		log.Warn("record outcome", "attempt", a.n, "err", err)
	case advanced:
		// Queue the next stage, then let go of this one. Should the runner
		// die in between, this message comes back and movedOn queues the
		// stage again (deduplicated).
		a.mu.Lock()
		next, rev := a.job, a.rev
		a.mu.Unlock()
		if err := r.b.EnqueueJob(r.ctx, next, rev); err != nil {
			log.Warn("queue the next stage", "stage", next.Stage.Name, "err", err)
			return
		}
		_ = msg.Ack()
		outcome("advanced")
		p.metrics.stage(next.Algorithm, conveyor.StatusSucceeded)
	case retry:
		a.mu.Lock()
		delay := time.Until(*a.job.RetryAt)
		jerr := a.job.Error
		a.mu.Unlock()
		_ = msg.NakWithDelay(max(delay, 0))
		outcome("retried")
		log.Info("attempt failed; will retry", "attempt", a.n, "retry_in", delay.Round(time.Millisecond), "error", errText(jerr))
	default:
		_ = msg.Ack()
		r.ended(a)
		a.mu.Lock()
		status, jerr := a.job.Status, a.job.Error
		a.mu.Unlock()
		outcome(string(status))
		p.metrics.finished(pipelineOf(a), status)
		if status == conveyor.StatusFailed {
			log.Info("job failed", "attempt", a.n, "error", errText(jerr))
		} else if log.debug() {
			log.Debug("job finished", "status", status, "attempt", a.n, "duration", time.Since(a.began).Round(time.Millisecond))
		}
	}
}

// ended does what must follow the end of a's job, now final, whoever
// else is up: passes its mutex key on and queues its callback.
func (r *Runner) ended(a *attempt) {
	a.mu.Lock()
	var j *conveyor.Job
	if a.job.Mutex != "" || a.job.Callback != nil {
		c := *a.job
		j = &c
	}
	a.mu.Unlock()
	if j == nil {
		return // the common case: nothing follows
	}
	r.mutexes.Released(j.Tenant, j.Mutex, j.ID)
	if r.cfg.Callbacks != nil {
		r.cfg.Callbacks.Ended(j)
	}
}

// pipelineOf returns the name of the pipeline whose job a runs a stage
// of, or "" for a job of no pipeline.
func pipelineOf(a *attempt) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.job.Pipeline == nil {
		return ""
	}
	return a.job.Algorithm
}

// jobLog logs for one job of an algorithm. It adds the job's attributes
// only when a line is written: most jobs log nothing, and a logger made
// with them up front would cost every job.
type jobLog struct {
	base     *slog.Logger
	id, algo string
}

func (l jobLog) with() *slog.Logger { return l.base.With("job_id", l.id, "algorithm", l.algo) }

func (l jobLog) debug() bool { return l.base.Enabled(context.Background(), slog.LevelDebug) }

func (l jobLog) Debug(msg string, args ...any) {
	if l.debug() {
		l.with().Debug(msg, args...)
	}
}
func (l jobLog) Info(msg string, args ...any) { l.with().Info(msg, args...) }
func (l jobLog) Warn(msg string, args ...any) { l.with().Warn(msg, args...) }

// errText is a job error as a log value ("" for none).
func errText(e *conveyor.JobError) string {
	if e == nil {
		return ""
	}
	return e.Error()
}

// attemptTimer is an attempt's timeout, armed once, from a given start.
type attemptTimer struct {
	d    time.Duration
	fire func()

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

// arm starts the timer, if it is not running or stopped, and returns the
// deadline it set (zero if it set none).
func (a *attemptTimer) arm(from time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.t != nil || a.stopped {
		return time.Time{}
	}
	deadline := from.Add(a.d)
	a.t = time.AfterFunc(time.Until(deadline), a.fire)
	return deadline
}

func (a *attemptTimer) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if a.t != nil {
		a.t.Stop()
	}
}

// attemptError turns how an attempt ended into the job's error and whether
// another attempt may help.
func attemptError(runErr, cause error, timeout time.Duration) (*conveyor.JobError, bool) {
	if cause == errTimeout {
		return &conveyor.JobError{Type: conveyor.ErrorTypeTimeout, Message: "attempt exceeded its timeout of " + timeout.String()}, true
	}
	var jerr *conveyor.JobError
	if errors.As(runErr, &jerr) {
		return jerr, !conveyor.IsPermanent(runErr)
	}
	if runErr == nil {
		runErr = errors.New("handler returned no output")
	}
	return &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: runErr.Error()}, !conveyor.IsPermanent(runErr)
}

// safeRun calls the handler, turning a panic into a crashed attempt and an
// output that is not JSON into an error.
func safeRun(ctx context.Context, h Handler, t *Task) (out json.RawMessage, err error) {
	defer func() {
		if v := recover(); v != nil {
			stack := string(debug.Stack())
			if len(stack) > 4096 {
				stack = stack[:4096]
			}
			out, err = nil, &conveyor.JobError{Type: conveyor.ErrorTypeCrashed, Message: fmt.Sprintf("panic: %v", v), Detail: stack}
		}
	}()
	out, err = h.Run(ctx, t)
	if err == nil && !json.Valid(out) {
		return nil, &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: "the algorithm's output is not valid JSON"}
	}
	return out, err
}

func (r *Runner) track(a *attempt) {
	r.mu.Lock()
	r.inflight[a.id] = a
	r.mu.Unlock()
}

func (r *Runner) untrack(a *attempt) {
	r.mu.Lock()
	if r.inflight[a.id] == a {
		delete(r.inflight, a.id)
	}
	r.mu.Unlock()
}

// onCancel stops the attempt of a job that a client canceled.
func (r *Runner) onCancel(id string) {
	r.mu.Lock()
	a := r.inflight[id]
	if a == nil {
		r.noteCanceled(id, time.Now())
	}
	r.mu.Unlock()
	if a != nil {
		a.stop(errCanceled)
	}
}

// canceledKeep is how long the runner remembers a cancel of a job it was
// not running, in case the job's message is on its way to it.
const canceledKeep = time.Minute

// noteCanceled remembers a canceled job the runner is not running, for
// between one and two canceledKeep: cancels go to a map that becomes the
// old one every canceledKeep, when the old one is dropped. r.mu is held.
func (r *Runner) noteCanceled(id string, now time.Time) {
	if now.Sub(r.canceledSince) > canceledKeep {
		r.canceledOld, r.canceled, r.canceledSince = r.canceled, map[string]struct{}{}, now
	}
	r.canceled[id] = struct{}{}
}

// wasCanceled reports whether a cancel of the job was heard lately.
func (r *Runner) wasCanceled(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.canceled[id]
	_, old := r.canceledOld[id]
	return ok || old
}

// throttle lets a repeated complaint through once per every.
type throttle struct {
	every time.Duration
	mu    sync.Mutex
	last  time.Time
	count int // since the last let through
}

// due counts one more occurrence and reports whether it is to be said,
// with how many came since the last one said.
func (t *throttle) due(now time.Time) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count++
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		return 0, false
	}
	n := t.count
	t.last, t.count = now, 0
	return n, true
}
