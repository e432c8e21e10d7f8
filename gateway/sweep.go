package gateway

import (
	"context"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// A job with a mutex key, an idempotency key or a later start is stored
// before it is queued (see claim). A gateway that dies between the two
// writes leaves a record that says queued (or scheduled) and that no
// queue message, line or schedule will ever start. The sweep finds such
// records and finishes their submit.
//
// It knows a job's submit was finished when it saw the job's queue
// message go by (the queue follower tells the live view); a record it
// heard nothing of for sweepGrace is submitted again, the same way — the
// same message id, so that the broker drops the copy of a message it has
// (its duplicate window), the same line, the same schedule. That is safe
// only within the broker's duplicate window of the record's write, which
// the sweep keeps to: a gateway running then (or restarted by then)
// finishes the submit; a record older than that when the first gateway
// comes back stays queued until it expires (and can be canceled).

// sweepGrace is how long after its record was written a stored job whose
// queue message was not seen is submitted again, and sweepEvery how often
// the sweep looks. Variables for tests.
var (
	sweepGrace = 20 * time.Second
	sweepEvery = 10 * time.Second
)

// sweepMargin is how far within the broker's duplicate window the sweep
// stays: the window counts from the message's arrival, a little after
// the record's write.
const sweepMargin = 20 * time.Second

// sweepLoop sweeps every sweepEvery once the gateway is ready, until ctx
// ends.
func (g *Gateway) sweepLoop(ctx context.Context) {
	defer g.wg.Done()
	select {
	case <-g.ready:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		g.sweep(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep submits again the stored jobs that wait, unheard of, since before
// now-sweepGrace, within the duplicate window.
func (g *Gateway) sweep(ctx context.Context, now time.Time) {
	window := min(2*time.Minute, g.b.Config().Retention) - sweepMargin
	for _, id := range g.jobs.unheard(now.Add(-window), now.Add(-sweepGrace)) {
		if ctx.Err() != nil {
			return
		}
		if err := g.resubmit(ctx, id); err != nil {
			g.log.Warn("finish the submit of a stored job", "job_id", id, "err", err)
			g.jobs.unhear(id) // the next sweep tries again
		}
	}
}

// resubmit finishes the submit of the stored job id, if it was never
// started: binds its idempotency key (or, when the key went to another
// job meanwhile — the client retried — removes it), then queues it, lines
// it up for its mutex key or schedules it, as claim's caller would have.
func (g *Gateway) resubmit(ctx context.Context, id string) error {
	j, rev, err := g.b.GetJob(ctx, id)
	switch {
	case conveyor.ErrorCode(err) == conveyor.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case j.Attempt != 0 || j.RetryAt != nil || j.Status != conveyor.StatusQueued && j.Status != conveyor.StatusScheduled:
		return nil // started, or moved on: not a submit cut short
	}
	if j.IdempotencyKey != "" && j.Step() == 0 {
		bound, _, claimed, err := g.b.ClaimIdempotencyKey(ctx, j.Tenant, j.IdempotencyKey, j.ID, requestDigest(j))
		if err != nil {
			return err
		}
		if !claimed {
			g.log.Info("removed a stored job whose idempotency key went to another", "job_id", id, "bound_to", bound)
			g.undo(ctx, id)
			return nil
		}
	}
	s, err := broker.StoredJob(j, rev)
	if err != nil {
		return err
	}
	if j.Step() > 0 {
		return g.b.Enqueue(ctx, s) // a pipeline's next stage, queued by a runner
	}
	return g.enqueueClaimed(ctx, s)
}
