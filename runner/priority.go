package runner

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// Priorities. Each algorithm has three queues, high, normal and low, and a
// pool with free slots takes high before normal before low, except that
// while low jobs wait, one job in lowEvery that a pool takes is a low one:
// low is slowed, never starved. Within a priority, jobs start in the order
// they were queued.
//
// Most jobs are normal, and the normal queue is pulled as before: one
// long-poll request per batch of free slots, so that a job starts the
// moment it is queued. The high and low queues are pulled without waiting,
// and only while they may hold jobs: a core subscription to their subjects
// (a doorbell, which rings only for high and low jobs) says when a job was
// queued, and the pool looks again every bellEvery anyway, for retries and
// redeliveries, which are not published anew. A doorbell that rings while
// every free slot waits on a normal long-poll takes high and low jobs for
// those slots at once (takeIdle); should a normal job arrive in the
// meantime, it waits for a slot as a job does that lost its slot to a
// synchronous call.
//
// Jobs that require runner labels have queues of their own, one per
// priority and requirement set (see routes.go); they are pulled as the
// high and low queues are — without waiting, when their bell rang — each
// at its priority, after the plain queue of that priority.

// The ranks of the queues: the order of broker.Priorities.
const (
	rankHigh = iota
	rankNormal
	rankLow
	ranks
)

// lowEvery: while low jobs wait, at least one job in lowEvery a pool takes
// is a low one.
const lowEvery = 10

// bellEvery is how often a pool looks at its high and low queues without
// a doorbell, for jobs redelivered or due for a retry.
const bellEvery = time.Second

// queue is one consumer a pool pulls jobs from.
type queue struct {
	pl   *broker.Puller
	rank int
	// rung counts the rings of the queue's bell, drained the count when a
	// pull last found it empty: it may hold jobs while they differ.
	rung, drained atomic.Int64
}

// ring notes that q may hold jobs and wakes the pool.
func (p *pool) ring(q *queue) {
	q.rung.Add(1)
	select {
	case p.bell <- struct{}{}:
	default:
	}
}

// subscribeBells rings the pool's bell when a high or low job, or one
// that requires labels, is queued.
func (p *pool) subscribeBells() ([]broker.Subscription, error) {
	labelled := len(p.r.cfg.Labels) > 0 // else no routed job is for this runner
	subs, err := p.r.b.Doorbell(p.alg.Name, labelled, func(prio conveyor.Priority, req conveyor.Requirements) {
		rank := rankOf(prio)
		if len(req) == 0 {
			p.ring(p.plain[rank])
			return
		}
		p.routeRang(rank, req)
	})
	return subs, err
}

// rankOf is the rank of the queues of priority prio.
func rankOf(prio conveyor.Priority) int {
	switch prio {
	case conveyor.PriorityHigh:
		return rankHigh
	case conveyor.PriorityLow:
		return rankLow
	default:
		return rankNormal
	}
}

// bellLoop rings the bell of every queue pulled without waiting every
// bellEvery, until ctx ends.
func (p *pool) bellLoop(ctx context.Context) {
	defer p.r.wg.Done()
	t := time.NewTicker(bellEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			lists := p.lists.Load()
			for rank := range ranks {
				for _, q := range lists[rank] {
					if q != p.plain[rankNormal] {
						q.rung.Add(1)
					}
				}
			}
			select {
			case p.bell <- struct{}{}:
			default:
			}
		}
	}
}

// take pulls up to n jobs, reserved by the caller, by priority, and starts
// each; it returns how many it started. Only the last pull, from the
// normal queue, waits for jobs to come.
func (p *pool) take(ctx context.Context, n int) (int, error) {
	lists := p.lists.Load()
	got := 0
	pull := func(qs []*queue, k int) error {
		m, err := p.pullQueues(ctx, qs, k)
		got += m
		return err
	}
	if p.sinceLow.Load() >= lowEvery-1 && p.mayHold(lists[rankLow]) {
		if err := pull(lists[rankLow], 1); err != nil {
			return got, err
		}
	}
	if err := pull(lists[rankHigh], n-got); err != nil {
		return got, err
	}
	normal := p.plain[rankNormal]
	if p.mayHold(lists[rankLow]) {
		// Normal first, but a long-poll on an empty normal queue must not
		// keep the slots from low jobs.
		if err := pull(lists[rankNormal], n-got); err != nil {
			return got, err
		}
		if err := pull(lists[rankLow], n-got); err != nil {
			return got, err
		}
	} else if err := pull(lists[rankNormal][1:], n-got); err != nil { // the routed ones
		return got, err
	}
	if n-got <= 0 {
		return got, nil
	}
	p.polling.Add(int32(n - got))
	defer p.polling.Add(-int32(n - got))
	m, err := p.pull(ctx, normal, n-got, true)
	return got + m, err
}

// takeIdle pulls the jobs of the queues pulled without waiting for slots
// that are free but reserved by a long-poll on the normal queue, which has
// none to give.
func (p *pool) takeIdle(ctx context.Context) {
	p.mu.Lock()
	idle := min(p.size+p.aheadNow()-p.running, int(p.polling.Load()))
	p.pulled += idle
	p.mu.Unlock()
	if idle <= 0 {
		return
	}
	lists := p.lists.Load()
	got := 0
	for _, qs := range [][]*queue{lists[rankHigh], lists[rankNormal][1:], lists[rankLow]} {
		m, _ := p.pullQueues(ctx, qs, idle-got)
		got += m
	}
	p.unpull(idle - got)
}

// pullQueues pulls up to k jobs, without waiting, from those of qs that
// may hold jobs, in order; it returns how many it started.
func (p *pool) pullQueues(ctx context.Context, qs []*queue, k int) (int, error) {
	got := 0
	for _, q := range qs {
		if got >= k {
			break
		}
		if !p.maybe(q) {
			continue
		}
		m, err := p.pull(ctx, q, k-got, false)
		got += m
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// taken counts a job taken from the queue of rank, before it starts: one
// taken ahead of waiting low ones, or a low one.
func (p *pool) taken(rank int) {
	switch {
	case rank == rankLow:
		p.sinceLow.Store(0)
	case p.mayHold(p.lists.Load()[rankLow]):
		p.sinceLow.Add(1)
	}
}

// maybe reports whether q may hold jobs: the plain normal queue always
// may; the others when their bell rang since a pull found them drained.
func (p *pool) maybe(q *queue) bool {
	return q == p.plain[rankNormal] || q.rung.Load() != q.drained.Load()
}

// mayHold reports whether any of qs may hold jobs.
func (p *pool) mayHold(qs []*queue) bool {
	for _, q := range qs {
		if p.maybe(q) {
			return true
		}
	}
	return false
}

// pull fetches up to k jobs of q and starts them, and remembers a queue
// other than the plain normal one as drained when it gave fewer — unless
// its bell rang meanwhile.
func (p *pool) pull(ctx context.Context, q *queue, k int, wait bool) (int, error) {
	rung := q.rung.Load()
	m, err := p.fetch(ctx, q, k, wait)
	if m < k && err == nil && q != p.plain[rankNormal] {
		q.drained.Store(rung)
		if q.rank == rankLow && !p.mayHold(p.lists.Load()[rankLow]) {
			p.sinceLow.Store(0) // no low job waits: none was passed over
		}
	}
	return m, err
}
