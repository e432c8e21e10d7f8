package runner

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

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

// ring notes that the queue of rank may hold jobs and wakes the pool.
func (p *pool) ring(rank int) {
	p.rung[rank].Add(1)
	select {
	case p.bell <- struct{}{}:
	default:
	}
}

// subscribeBells rings the pool's bell when a high or low job is queued.
func (p *pool) subscribeBells() ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	for _, rank := range []int{rankHigh, rankLow} {
		sub, err := p.r.b.Conn().Subscribe(broker.QueueSubject(p.alg.Name, broker.Priorities[rank]), func(*nats.Msg) { p.ring(rank) })
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// bellLoop rings the bell for both queues every bellEvery, until ctx ends.
func (p *pool) bellLoop(ctx context.Context) {
	defer p.r.wg.Done()
	t := time.NewTicker(bellEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.ring(rankHigh)
			p.ring(rankLow)
		}
	}
}

// take pulls up to n jobs, reserved by the caller, by priority, and starts
// each; it returns how many it started. Only the last pull, from the
// normal queue, waits for jobs to come.
func (p *pool) take(ctx context.Context, n int) (int, error) {
	got := 0
	pull := func(rank, k int, wait bool) error {
		if k <= 0 {
			return nil
		}
		m, err := p.pull(ctx, rank, k, wait)
		got += m
		return err
	}
	if p.maybe(rankLow) && p.sinceLow.Load() >= lowEvery-1 {
		if err := pull(rankLow, 1, false); err != nil {
			return got, err
		}
	}
	if p.maybe(rankHigh) {
		if err := pull(rankHigh, n-got, false); err != nil {
			return got, err
		}
	}
	if p.maybe(rankLow) {
		// Normal first, but a long-poll on an empty normal queue must not
		// keep the slots from low jobs.
		if err := pull(rankNormal, n-got, false); err != nil {
			return got, err
		}
		if err := pull(rankLow, n-got, false); err != nil {
			return got, err
		}
	}
	if n-got > 0 {
		p.polling.Add(int32(n - got))
		defer p.polling.Add(-int32(n - got))
	}
	return got, pull(rankNormal, n-got, true)
}

// takeIdle pulls high and low jobs for slots that are free but reserved by
// a long-poll on the normal queue, which has none to give.
func (p *pool) takeIdle(ctx context.Context) {
	p.mu.Lock()
	idle := min(p.size+p.ahead-p.running, int(p.polling.Load()))
	p.pulled += idle
	p.mu.Unlock()
	if idle <= 0 {
		return
	}
	got := 0
	for _, rank := range []int{rankHigh, rankLow} {
		if got < idle && p.maybe(rank) {
			m, _ := p.pull(ctx, rank, idle-got, false)
			got += m
		}
	}
	p.unpull(idle - got)
}

// taken counts a job taken from the queue of rank, before it starts: one
// taken ahead of waiting low ones, or a low one.
func (p *pool) taken(rank int) {
	switch {
	case rank == rankLow:
		p.sinceLow.Store(0)
	case p.maybe(rankLow):
		p.sinceLow.Add(1)
	}
}

// maybe reports whether the queue of rank may hold jobs: the normal queue
// always may; the others when their bell rang since a pull found them
// drained.
func (p *pool) maybe(rank int) bool {
	return rank == rankNormal || p.rung[rank].Load() != p.drained[rank].Load()
}

// pull fetches up to k jobs of rank and starts them, and remembers a
// high or low queue as drained when it gave fewer — unless its bell rang
// meanwhile.
func (p *pool) pull(ctx context.Context, rank, k int, wait bool) (int, error) {
	rung := p.rung[rank].Load()
	m, err := p.fetch(ctx, rank, k, wait)
	if m < k && err == nil && rank != rankNormal {
		p.drained[rank].Store(rung)
		if rank == rankLow {
			p.sinceLow.Store(0) // no low job waits: none was passed over
		}
	}
	return m, err
}
