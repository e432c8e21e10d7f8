package runner

import (
	"context"
	"time"

	"github.com/conveyor-run/conveyor"
)

// progressEvery is how often coalesced progress is written to job records.
const progressEvery = 250 * time.Millisecond

// heartbeat runs until the runner stops: it writes coalesced progress, and
// every heartbeat renews the lease of each running job, checks that the
// job is still this attempt's (a cancel whose fast-path message was missed
// is caught here), and renews the runner's registry record.
func (r *Runner) heartbeat() {
	defer r.bg.Done()
	tick := time.NewTicker(progressEvery)
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
	for _, a := range r.snapshot() {
		p := a.rep.takeDirty()
		if p == nil {
			continue
		}
		err := a.update(r.ctx, r.b, func(j *conveyor.Job) error { return j.Report(a.n, *p) })
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
