package client

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor-run/conveyor"
)

// DefaultPollInterval is the longest a single request of Wait long-polls
// the server, unless PollInterval says otherwise.
const DefaultPollInterval = 30 * time.Second

// minPollGap is the least time between two requests of Wait when the server
// answers a long poll early with an unfinished job (an old server, or one
// that caps ?wait= lower), so that Wait never spins.
const minPollGap = time.Second

// ErrWaitTimeout is the cause of the error Wait returns when its time is up
// before the job finished: errors.Is(err, ErrWaitTimeout) reports it, and its
// code is ETIMEOUT.
var ErrWaitTimeout = &conveyor.Error{Code: conveyor.ETIMEOUT, Message: "timed out waiting for the job"}

// WaitOption modifies one call of Client.Wait.
type WaitOption func(*waitOptions)

type waitOptions struct {
	interval time.Duration
	onUpdate func(*conveyor.Job)
}

// PollInterval makes each request of Wait long-poll for at most d
// (default DefaultPollInterval). A finished job is noticed at once whatever
// d is; d bounds how stale the progress of a running job passed to OnUpdate
// may be.
func PollInterval(d time.Duration) WaitOption {
	return func(o *waitOptions) {
		if d > 0 {
			o.interval = d
		}
	}
}

// OnUpdate makes Wait call fn with every state of the job it fetches, the
// final one included, from the goroutine that called Wait.
func OnUpdate(fn func(*conveyor.Job)) WaitOption {
	return func(o *waitOptions) { o.onUpdate = fn }
}

// Wait waits until the job id is final (succeeded, failed or canceled), d has
// passed (d <= 0: no limit) or ctx is done, long-polling GET
// /v1/jobs/{id}?wait= in a loop. It returns the job as last seen even with an
// error: when d passes first, an error that wraps ErrWaitTimeout; when ctx is
// done first, one that wraps ctx.Err(). Other errors are those of Get; Wait
// does not retry them.
//
// A nil error means the job is final; its Status says whether it succeeded.
func (c *Client) Wait(ctx context.Context, id string, d time.Duration, opts ...WaitOption) (*conveyor.Job, error) {
	o := waitOptions{interval: DefaultPollInterval}
	for _, opt := range opts {
		opt(&o)
	}
	var deadline time.Time
	if d > 0 {
		deadline = time.Now().Add(d)
	}
	var last *conveyor.Job
	for {
		poll := o.interval
		if d > 0 {
			poll = min(poll, time.Until(deadline))
		}
		start := time.Now()
		job, err := c.get(ctx, id, poll)
		if err != nil {
			return last, err
		}
		last = job
		if o.onUpdate != nil {
			o.onUpdate(job)
		}
		if job.Status.Terminal() {
			return job, nil
		}
		if d > 0 && !time.Now().Before(deadline) {
			return job, fmt.Errorf("job %s is still %s after %s: %w", id, job.Status, d, ErrWaitTimeout)
		}
		gap := min(o.interval, minPollGap) - time.Since(start)
		if d > 0 {
			gap = min(gap, time.Until(deadline))
		}
		if err := sleep(ctx, gap); err != nil {
			return job, fmt.Errorf("waiting for job %s: %w", id, err)
		}
	}
}

// sleep waits for d or until ctx is done, and returns ctx.Err() in that case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
