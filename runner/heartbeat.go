package runner

import (
	"context"
	"time"

	"github.com/conveyor-run/conveyor"
)

// tickEvery is how often the runner writes coalesced progress and records
// as running the attempts that have outlasted startDelay.
const tickEvery = 50 * time.Millisecond

// startDelay is how long a job's first attempt runs before the runner
// records it as running. A job that finishes sooner — most short jobs — goes
// from queued to its outcome in one write, which spares the broker a write
// and a watch event per job (Celery does not record the start of a task at
// all by default). Only a first delivery is deferred: a redelivery, after a
// crash or for a retry, is recorded as running before it starts, so a crash
// within the first startDelay of a job costs it at most one uncounted
// attempt.
const startDelay = 20 * time.Millisecond

// heartbeat runs until the runner stops: every tick it records attempts
// that outlasted startDelay and writes coalesced progress; every heartbeat
// it renews the lease of each running job, checks that the job is still
// this attempt's (a cancel whose fast-path message was missed is caught
// here), and renews the runner's registry record.
func (r *Runner) heartbeat() {
	defer r.bg.Done()
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		}
		r.writeProgress()
		if time.Since(last) >= r.cfg.Heartbeat {
			last = time.Now()
			r.beat()
		}
	}
}

func (r *Runner) snapshot() []*attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*attempt, 0, len(r.inflight))
	for _, a := range r.inflight {
		out = append(out, a)
	}
	return out
}

func (r *Runner) writeProgress() {
	now := time.Now()
	for _, a := range r.snapshot() {
		a.rep.tick(now)
		if !a.isRecorded() && time.Since(a.began) < startDelay {
			// Not even progress is written before startDelay: a short job
			// that reports some still costs one write, its outcome.
			continue
		}
		var err error
		if p := a.rep.takeDirty(); p != nil {
			err = a.update(r.ctx, r.b, func(j *conveyor.Job) error { return j.Report(a.n, *p) })
		} else {
			err = a.record(r.ctx, r.b)
		}
		if conveyor.ErrorCode(err) == conveyor.ECONFLICT {
			r.stopChanged(a)
		}
	}
}

func (r *Runner) beat() {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Heartbeat)
	defer cancel()
	for _, a := range r.snapshot() {
		_ = a.msg.InProgress()
		j, _, err := r.b.GetJob(ctx, a.id)
		if err == nil && !a.isRecorded() && j.Status == conveyor.StatusQueued {
			continue // not recorded as running yet: the queued record is ours
		}
		if err == nil && (j.Status != conveyor.StatusRunning || j.Attempt != a.n) {
			a.mu.Lock()
			a.job = j
			a.mu.Unlock()
			r.stopChanged(a)
		}
	}
	if err := r.register(ctx); err != nil {
		r.log.Warn("renew registration", "err", err)
	}
	for _, p := range r.served {
		if p.conflict.Load() {
			if err := r.announce(ctx, p); err != nil {
				r.log.Warn("announce algorithm", "algorithm", p.alg.Name, "err", err)
			}
		}
	}
}

// stopChanged stops an attempt whose job changed under it: canceled, or
// taken over by another attempt after this runner's lease lapsed.
func (r *Runner) stopChanged(a *attempt) {
	a.mu.Lock()
	final := a.job.Status.Terminal()
	a.mu.Unlock()
	if final {
		a.stop(errCanceled)
	} else {
		a.stop(errSuperseded)
	}
}
