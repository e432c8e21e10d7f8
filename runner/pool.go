package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/backoff"
	"github.com/conveyor-run/conveyor/metrics"
)

// fetchWait bounds one pull request; its unfilled slots are requested
// again at once.
const fetchWait = 10 * time.Second

// fetchBackoff spaces the pull requests of a pool while they fail (the
// broker is unreachable): 50 ms doubling up to 5 s, jittered.
var fetchBackoff = backoff.Policy{Base: 50 * time.Millisecond, Max: 5 * time.Second}

// pool is one algorithm on one runner: a handler and a bounded number of
// slots, shared by queued jobs and synchronous calls — a busy pool is busy
// for both. It asks the broker for at most as many jobs as it has free
// slots, so a job never waits in a busy runner's buffer while another
// runner idles — but for a Prefetcher's jobs held ahead, at most one in
// hand per slot by default. A slot is held while a job executes; it is freed as soon as
// the handler returns, so the bookkeeping of one job (recording its outcome,
// acknowledging it) overlaps the execution of the next.
type pool struct {
	r       *Runner
	alg     conveyor.Algorithm
	handler Handler
	size    int // jobs and calls executing at once
	// prefetcher, when the handler is one, says how many jobs beyond size
	// it takes to hold until a slot frees: the pool pulls them too. It may
	// say another number from one moment to the next (aheadNow).
	prefetcher Prefetcher
	entry      int // index of the config entry that serves alg
	grace      time.Duration
	// plain are the algorithm's queues of jobs that require no labels,
	// one per priority, by rank (see priority.go).
	plain [ranks]*queue
	// lists are the queues the pool pulls, by rank: the plain one first,
	// then the routed ones (see routes.go). Replaced, never changed.
	lists atomic.Pointer[[ranks][]*queue]
	// routes are the routed queues by rank and requirement set, adding
	// those being made; under routeMu.
	routeMu  sync.Mutex
	routes   map[routeKey]*queue
	adding   map[routeKey]bool
	fetchCtx context.Context // ends when the runner stops taking jobs

	bell     chan struct{} // a job was queued that no long-poll waits for, or it is time to look
	sinceLow atomic.Int32  // jobs taken ahead of waiting low ones
	polling  atomic.Int32  // slots waiting on a long-poll of the normal queue
	schema   string        // SchemaDigest of alg's input schema
	conflict atomic.Bool   // another live runner holds the registration with another schema
	metrics  poolMetrics

	mu      sync.Mutex
	running int           // slots taken: jobs and calls executing, or held by the handler (ahead)
	pulled  int           // jobs asked of the broker and not yet executing
	changed chan struct{} // closed and replaced when running or pulled drops
}

// newPool returns the pool of one algorithm served by entry, which runs
// slots jobs at once (see SharedWorkers).
func newPool(r *Runner, s Served, entry config.Algorithm, slots int) *pool {
	size := slots
	if b, ok := s.Handler.(Batcher); ok {
		size *= max(b.BatchSize(), 1)
	}
	prefetcher, _ := s.Handler.(Prefetcher)
	p := &pool{
		r:          r,
		alg:        s.Algorithm,
		handler:    s.Handler,
		size:       size,
		prefetcher: prefetcher,
		grace:      entry.Grace.Std(),
		schema:     broker.SchemaDigest(s.Algorithm.InputSchema),
		changed:    make(chan struct{}),
		bell:       make(chan struct{}, 1),
		metrics:    newPoolMetrics(r.cfg.Metrics, s.Algorithm.Name),
		routes:     map[routeKey]*queue{},
		adding:     map[routeKey]bool{},
	}
	var lists [ranks][]*queue
	for rank := range ranks {
		p.plain[rank] = &queue{rank: rank}
		lists[rank] = []*queue{p.plain[rank]}
	}
	p.lists.Store(&lists)
	p.plain[rankHigh].rung.Store(1) // look at every queue first
	p.plain[rankLow].rung.Store(1)
	return p
}

// signal wakes whoever waits for a slot or for room to pull. p.mu is held.
func (p *pool) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire takes a slot, waiting until one is free or ctx ends. pulled says
// the slot is for a job this pool asked the broker for.
func (p *pool) acquire(ctx context.Context, pulled bool) error {
	for {
		p.mu.Lock()
		if p.takeLocked(pulled) {
			p.mu.Unlock()
			return nil
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tryAcquire takes a slot if one is free now.
func (p *pool) tryAcquire(pulled bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeLocked(pulled)
}

// takeLocked takes a free slot, if there is one. p.mu is held.
func (p *pool) takeLocked(pulled bool) bool {
	if p.running >= p.size+p.aheadNow() {
		return false
	}
	p.running++
	if pulled {
		p.pulled--
	}
	return true
}

// aheadNow returns how many jobs beyond its slots the handler takes now.
func (p *pool) aheadNow() int {
	if p.prefetcher == nil {
		return 0
	}
	return max(p.prefetcher.Prefetch(), 0)
}

// release frees a slot.
func (p *pool) release() {
	p.mu.Lock()
	p.running--
	p.signal()
	p.mu.Unlock()
}

// reservePull returns how many jobs the pool may ask the broker for now and
// counts them as pulled; when it returns 0, changed is closed once that
// may have changed.
func (p *pool) reservePull() (n int, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = max(p.size+p.aheadNow()-p.running-p.pulled, 0)
	p.pulled += n
	return n, p.changed
}

// unpull forgets k pulled jobs that did not come, or that will not run here.
func (p *pool) unpull(k int) {
	if k == 0 {
		return
	}
	p.mu.Lock()
	p.pulled -= k
	p.signal()
	p.mu.Unlock()
}

// busy returns how many jobs and calls the pool is executing now: those
// its handler holds beyond its slots wait for one (see holding).
func (p *pool) busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return min(p.running, p.size)
}

// holding returns how many jobs and calls the pool's handler has now,
// executing or held.
func (p *pool) holding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// fetchLoop pulls jobs while ctx lasts. Whenever slots are free it sends a
// pull request for that many jobs, without waiting for earlier requests to
// be filled: several requests may be outstanding, but never for more jobs
// than there are free slots. Each pulled job runs in a goroutine of its
// own (see keeper).
func (p *pool) fetchLoop(ctx context.Context) {
	defer p.r.wg.Done()
	var failures atomic.Int32
	for {
		n, changed := p.reservePull()
		if n == 0 {
			select {
			case <-changed:
			case <-p.bell:
				p.takeIdle(ctx)
			case <-ctx.Done():
				return
			}
			continue
		}
		p.r.wg.Add(1)
		go func() {
			defer p.r.wg.Done()
			got, err := p.take(ctx, n)
			if err != nil && ctx.Err() == nil {
				// Keep the reservation through the backoff, so the loop waits too.
				d := fetchBackoff.Delay(int(failures.Add(1)) - 1)
				p.r.log.Warn("fetch jobs", "algorithm", p.alg.Name, "err", err, "retry_in", d)
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			} else if err == nil {
				failures.Store(0)
			}
			p.unpull(n - got)
		}()
		if ctx.Err() != nil {
			return
		}
	}
}

// fetch pulls up to n jobs from q and starts each; it returns how many it
// started. With wait it waits up to fetchWait for them; without, it takes
// only those queued now.
func (p *pool) fetch(ctx context.Context, q *queue, n int, wait bool) (int, error) {
	d := time.Duration(0)
	if wait {
		d = fetchWait
	}
	batch, err := q.pl.Pull(n, d)
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		p.taken(q.rank)
		p.r.keep.Go(func() {
			// The slot reserved for this job may have gone to a synchronous
			// call meanwhile: wait for one, but not so long that the lease
			// lapses; past that, hand the job back for another runner.
			if !p.tryAcquire(true) {
				actx, cancel := context.WithTimeout(ctx, p.r.cfg.Heartbeat)
				err := p.acquire(actx, true)
				cancel()
				if err != nil {
					p.unpull(1)
					_ = msg.Nak()
					return
				}
			}
			p.r.process(p, msg)
		})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return got, err
	}
	return got, nil
}

// poolMetrics are the pool's series of the runner's metrics, looked up once
// rather than by label for every job.
type poolMetrics struct {
	m                   *metrics.Metrics
	alg                 string
	queueWait, duration prometheus.Observer
	succeededAttempts   prometheus.Counter
	succeededJobs       prometheus.Counter
	okCalls             prometheus.Observer
}

func newPoolMetrics(m *metrics.Metrics, alg string) poolMetrics {
	return poolMetrics{
		m:                 m,
		alg:               alg,
		queueWait:         m.QueueWait.WithLabelValues(alg),
		duration:          m.Duration.WithLabelValues(alg),
		succeededAttempts: m.Attempts.WithLabelValues(alg, string(conveyor.StatusSucceeded)),
		succeededJobs:     m.Finished.WithLabelValues(alg, string(conveyor.StatusSucceeded)),
		okCalls:           m.Calls.WithLabelValues(alg, callOK),
	}
}

// attempt counts an attempt that ended with outcome.
func (pm poolMetrics) attempt(outcome string) {
	if outcome == string(conveyor.StatusSucceeded) {
		pm.succeededAttempts.Inc()
		return
	}
	pm.m.Attempts.WithLabelValues(pm.alg, outcome).Inc()
}

// call observes a synchronous call that took d and ended with result.
func (pm poolMetrics) call(result string, d time.Duration) {
	if result == callOK {
		pm.okCalls.Observe(d.Seconds())
		return
	}
	pm.m.Calls.WithLabelValues(pm.alg, result).Observe(d.Seconds())
}

// finished counts a job that ended with status: under its pipeline, and
// its last stage under the stage, when it is a pipeline's job (pipeline
// its name); else under the pool's algorithm.
func (pm poolMetrics) finished(pipeline string, status conveyor.Status) {
	if pipeline != "" {
		pm.stage(pipeline, status)
		pm.m.Finished.WithLabelValues(pipeline, string(status)).Inc()
		return
	}
	if status == conveyor.StatusSucceeded {
		pm.succeededJobs.Inc()
		return
	}
	pm.m.Finished.WithLabelValues(pm.alg, string(status)).Inc()
}

// stage counts a stage of the pipeline that ended with status.
func (pm poolMetrics) stage(pipeline string, status conveyor.Status) {
	pm.m.Stages.WithLabelValues(pm.alg, pipeline, string(status)).Inc()
}
