package runner

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

// fetchWait bounds one pull request; its unfilled slots are requested
// again at once.
const fetchWait = 10 * time.Second

// pool is one algorithm on one runner: a handler and a bounded number of
// slots. It asks the broker for exactly as many jobs as it has free slots,
// so a job never waits in a busy runner's buffer while another runner idles.
// A slot is held while a job is being started and executed; it is freed as
// soon as the handler returns, so the bookkeeping of one job (recording its
// outcome, acknowledging it) overlaps the execution of the next.
type pool struct {
	r        *Runner
	alg      conveyor.Algorithm
	handler  Handler
	size     int
	grace    time.Duration
	consumer jetstream.Consumer
	slots    chan struct{} // a token per running or requested job
	running  atomic.Int32
}

func newPool(r *Runner, s Served, entry config.Algorithm) *pool {
	return &pool{
		r:       r,
		alg:     s.Algorithm,
		handler: s.Handler,
		size:    entry.Workers.Max,
		grace:   entry.Grace.Std(),
		slots:   make(chan struct{}, entry.Workers.Max),
	}
}

// release frees the slot of a job whose execution is over (or never began).
func (p *pool) release() { <-p.slots }

// busy returns how many jobs the pool is running now.
func (p *pool) busy() int { return int(p.running.Load()) }

// fetchLoop pulls jobs while ctx lasts. Whenever slots are free it sends a
// pull request for exactly that many jobs, without waiting for earlier
// requests to be filled: several requests may be outstanding, but never
// for more jobs than there are free slots. Each pulled job runs in its own
// goroutine holding one slot.
func (p *pool) fetchLoop(ctx context.Context) {
	defer p.r.wg.Done()
	var failures atomic.Int32
	for {
		// Wait for one free slot, then take every other free one.
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < p.size {
			select {
			case p.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		p.r.wg.Add(1)
		go func() {
			defer p.r.wg.Done()
			got, err := p.fetch(ctx, n)
			if err != nil && ctx.Err() == nil {
				// Keep the slots through the backoff, so the loop waits too.
				d := retryDelay(50*time.Millisecond, 5*time.Second, int(failures.Add(1))-1)
				p.r.log.Warn("fetch jobs", "algorithm", p.alg.Name, "err", err, "retry_in", d)
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			} else if err == nil {
				failures.Store(0)
			}
			for range n - got {
				p.release()
			}
		}()
	}
}

// fetch pulls up to n jobs and starts each; it returns how many it started.
func (p *pool) fetch(ctx context.Context, n int) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	batch, err := p.consumer.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		p.r.wg.Add(1)
		go func() {
			defer p.r.wg.Done()
			p.r.process(p, msg)
		}()
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !errors.Is(err, jetstream.ErrNoMessages) {
		return got, err
	}
	return got, nil
}
