//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

// handler runs the jobs of one algorithm on its entry's pool.
type handler struct {
	name string
	pool *pool
}

// Run runs one attempt on a worker process of the pool with a free slot,
// waiting for one (or for a process to start, up to workers.max) when all
// are busy: the processes of an entry are shared by all the algorithms it
// serves, up to the entry's concurrency of jobs at a time each, and each
// holds up to its prefetch more, sent ahead to start as soon as a running
// one ends (see item). A job's timeout counts from its start.
//
// The process gets a job message and answers with a result (returned as
// the output) or an error: a *conveyor.JobError of type "error" whose
// message is the worker's error type and message and whose detail is its
// detail (a traceback), wrapped by conveyor.Permanent unless the worker
// said it is retryable. A process that exits during the job (or is
// killed because another of its jobs ignored a cancel) fails the attempt
// with a *conveyor.JobError of type "crashed" carrying the tail of
// its stderr; the pool replaces it. A job the process held and had not
// started goes to another process instead, in the same attempt: it never
// ran (at most maxResends times).
//
// When ctx is done first (cancel, timeout, shutdown), Run sends a cancel
// message and waits up to the entry's grace period for the answer; a
// process that does not answer in time has its process group killed and
// is replaced. Run then returns an error wrapping ctx.Err().
func (h *handler) Run(ctx context.Context, t *runner.Task) (json.RawMessage, error) {
	for resent := 0; ; resent++ {
		p, err := h.pool.acquire(ctx, false)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("worker %s: waiting for a free worker: %w", h.name, ctx.Err())
			}
			return nil, err
		}
		out, lost, err := h.pool.runOn(ctx, p, h.name, t)
		if !lost {
			return out, err
		}
		if resent == maxResends {
			return nil, &conveyor.JobError{
				Type:    conveyor.ErrorTypeCrashed,
				Message: fmt.Sprintf("%d worker processes exited while holding the job, before it started", resent+1),
				Detail:  p.stderr.String(),
			}
		}
		t.Reporter.Log("log", fmt.Sprintf("conveyor: the worker process (pid %d) that held the job %s before starting it; another takes the job", p.pid, p.status))
	}
}

// BeginsLate tells the runner that Run calls t.Begin once its job starts
// on a worker: starting one (loading its model), waiting for a free one,
// or waiting in one's hands (prefetched) for the jobs ahead of it is not
// charged to the job's timeout. The handshake timeout bounds a start, the
// timeouts of the jobs ahead a wait in a worker's hands.
func (h *handler) BeginsLate() {}

// Prefetch tells the runner how many jobs the pool's processes hold
// beyond those they run: workers.max × the prefetch their hello accepted,
// or, adaptive, × the depth their jobs' run times call for now.
func (h *handler) Prefetch() int { return h.pool.max * int(h.pool.depth.Load()) }

// artifactDir returns t's directory of artifacts, handed to the workers'
// user when they run as one (user:), or "" when there is none: a job that
// writes an artifact then fails, saying so; one that writes none runs.
func (pl *pool) artifactDir(t *runner.Task) string {
	dir, err := t.ArtifactDir()
	if err != nil || dir == "" {
		return ""
	}
	if uid, gid, ok := pl.spec.cmd.Limits.Owner(); ok {
		if os.Chown(dir, uid, gid) != nil {
			return ""
		}
	}
	return dir
}

// runOn runs t, a job of the algorithm alg, on the process p, which the
// caller acquired. lost reports a job that p held, not started, when it
// exited: it is to be sent to another process.
func (pl *pool) runOn(ctx context.Context, p *proc, alg string, t *runner.Task) (out json.RawMessage, lost bool, err error) {
	r := &jobRun{id: t.JobID, alg: alg, rep: t.Reporter, done: make(chan answer, 1)}
	it := &item{runs: []*jobRun{r}, begin: t.Begin}
	fixed := t.Deadline // a synchronous call's; a job's is set by Begin
	outDir := pl.artifactDir(t)
	build := func(started bool) workerproto.Message {
		job := &workerproto.Job{ID: t.JobID, Algorithm: alg, Input: t.Input, Attempt: t.Attempt, Traceparent: t.Traceparent, OutputDir: outDir}
		if len(job.Input) == 0 {
			job.Input = json.RawMessage("null")
		}
		deadline := fixed
		if started {
			deadline = t.Deadline
		}
		if !deadline.IsZero() {
			d := deadline.UTC()
			job.Deadline = &d
		} else if !started && t.Timeout > 0 {
			job.Timeout = t.Timeout.Seconds() // from its start: it is held
		}
		return job
	}
	// The write blocks while the pipe is full (a large input, a worker
	// that does not read): it must not keep Run from seeing ctx end. A
	// failed write means the worker is gone: its exit tells the rest.
	sent := make(chan struct{})
	go func() { _ = p.sendItem(it, build); close(sent) }()
	select {
	case a := <-r.done:
		if at := t.Begun(); !at.IsZero() {
			pl.observe(time.Since(at))
		}
		t.SetRoute(a.route)
		out, err = pl.finish(p, r, a)
		return out, false, err
	case <-p.exited:
		<-sent
		return pl.crashed(p, r, it, t)
	case <-ctx.Done():
	}
	out, err = pl.stopJob(ctx, p, r, sent)
	return out, false, err
}

// finish ends a job the worker answered: it lets the worker's earlier
// output reach the job's log, frees the worker and returns the answer.
func (pl *pool) finish(p *proc, r *jobRun, a answer) (json.RawMessage, error) {
	p.settle()
	p.end(r)
	pl.release(p)
	return a.outcome()
}

// outcome returns the job's output, or its error: a protocol failure, or
// the worker's error as a *conveyor.JobError of type "error", wrapped by
// conveyor.Permanent unless the worker said it is retryable.
func (a answer) outcome() (json.RawMessage, error) {
	switch {
	case a.fail != nil:
		return nil, a.fail
	case a.err != nil:
		e := a.err.Error
		msg := e.Message
		if msg == "" {
			msg = "the worker reported an error without a message"
		}
		if e.Type != "" && e.Type != conveyor.ErrorTypeError {
			msg = e.Type + ": " + msg
		}
		jerr := &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: msg, Detail: e.Detail}
		if !a.err.Retryable {
			return nil, conveyor.Permanent(jerr)
		}
		return nil, jerr
	}
	return a.output, nil
}

// crashed fails a job whose worker exited under it, unless the worker
// answered just before it exited; a job the worker held and never started
// is lost instead, to be sent to another.
func (pl *pool) crashed(p *proc, r *jobRun, it *item, t *runner.Task) (out json.RawMessage, lost bool, err error) {
	select {
	case a := <-r.done:
		t.SetRoute(a.route)
		out, err = pl.finish(p, r, a)
		return out, false, err
	default:
	}
	p.end(r)
	if !p.began(it) {
		return nil, true, nil
	}
	jerr := &conveyor.JobError{
		Type:    conveyor.ErrorTypeCrashed,
		Message: fmt.Sprintf("the worker process (pid %d) %s while running the job", p.pid, p.status),
		Detail:  p.stderr.String(),
	}
	r.rep.Log("log", "conveyor: "+jerr.Message+"; a new worker replaces it")
	pl.log.Warn("worker crashed while running a job", "job_id", r.id, "algorithm", r.alg, "worker_pid", p.pid, "status", p.status)
	return nil, false, jerr
}

// stopJob stops the job r, whose ctx is done: it sends a cancel message
// (once the job message is written) and waits up to the grace period for
// the answer, then kills the worker.
func (pl *pool) stopJob(ctx context.Context, p *proc, r *jobRun, sent <-chan struct{}) (json.RawMessage, error) {
	cause := context.Cause(ctx)
	go func() {
		<-sent // ends at the latest when the worker is killed
		_ = p.send(&workerproto.Cancel{ID: r.id})
	}()
	timer := time.NewTimer(pl.grace)
	defer timer.Stop()
	how := "the worker stopped the job"
	select {
	case <-r.done:
		p.settle()
		p.end(r)
		pl.release(p)
	case <-p.exited:
		p.end(r)
		how = "the worker exited"
	case <-timer.C:
		p.kill()
		<-p.exited
		p.end(r)
		how = fmt.Sprintf("the worker did not stop the job within the %v grace period: its process group was killed and a new worker replaces it", pl.grace)
		r.rep.Log("log", "conveyor: "+how)
		pl.log.Warn("worker killed: it did not stop a job within the grace period", "job_id", r.id, "algorithm", r.alg, "worker_pid", p.pid, "grace", pl.grace)
	}
	if cause != nil && cause != ctx.Err() {
		return nil, fmt.Errorf("worker: %s: %w: %w", how, ctx.Err(), cause)
	}
	return nil, fmt.Errorf("worker: %s: %w", how, ctx.Err())
}

// Close stops the entry's worker processes, once for all the algorithms
// that share them, and waits until they are gone. It returns nil.
func (h *handler) Close() error {
	h.pool.close()
	return nil
}

var _ runner.LateBeginner = (*handler)(nil)

// Workers tells the runner how many processes the entry runs at most and
// how many jobs each holds at once (runner.SharedWorkers).
func (h *handler) Workers() (processes, jobsEach int) { return h.pool.max, h.pool.conc }
