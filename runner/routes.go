package runner

import (
	"context"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// Label routing. A job that requires runner labels (conveyor.Job.Requires)
// is queued on a subject of its own requirement set, and the runners whose
// labels meet the set share a durable consumer of it (see broker/routed.go).
// A pool of a runner with labels pulls the consumers of the sets it meets
// that jobs use — never the others, so a job goes only to a runner that
// may take it. It learns of a set from the doorbell (a job queued with it)
// or, for jobs queued before it started or while no runner met the set,
// from the queue stream's subjects, read at start and every routeScan. A
// route, once found, stays for the pool's life: the sets are few (at most
// the subsets of the runner's labels, per priority), and its bell rings
// every bellEvery for jobs due for a retry.

// routeScan is how often a runner with labels reads which requirement sets
// queued jobs use: the longest a job of a set it did not pull yet waits
// when no doorbell rang for it (a delayed job, which the broker's
// scheduler queues, rings none).
const routeScan = 2 * time.Second

// routeKey names a route: its rank and requirement set.
type routeKey struct {
	rank int
	req  string // canonical
}

// routeRang notes that a job requiring req was queued at rank: it rings
// the route's bell, first making the route when the runner meets req.
func (p *pool) routeRang(rank int, req conveyor.Requirements) {
	key := routeKey{rank, req.Canonical()}
	p.routeMu.Lock()
	q, ok := p.routes[key]
	adding := p.adding[key]
	p.routeMu.Unlock()
	switch {
	case ok:
		p.ring(q)
	case adding || !req.MetBy(p.r.cfg.Labels):
	default:
		// Making the consumer is a request to the broker: not on the
		// subscription's goroutine.
		p.r.wg.Add(1)
		go func() {
			defer p.r.wg.Done()
			p.addRoute(p.fetchCtx, rank, req)
		}()
	}
}

// addRoute makes the route of the jobs requiring req at rank, unless it
// exists, and rings its bell.
func (p *pool) addRoute(ctx context.Context, rank int, req conveyor.Requirements) {
	key := routeKey{rank, req.Canonical()}
	p.routeMu.Lock()
	if _, ok := p.routes[key]; ok || p.adding[key] || ctx.Err() != nil {
		p.routeMu.Unlock()
		return
	}
	p.adding[key] = true
	p.routeMu.Unlock()

	pl, err := p.r.b.RoutedPuller(ctx, p.alg.Name, broker.Priorities[rank], req)

	p.routeMu.Lock()
	defer p.routeMu.Unlock()
	delete(p.adding, key)
	if err != nil {
		if ctx.Err() == nil {
			p.r.log.Warn("open a routed queue", "algorithm", p.alg.Name, "requires", key.req, "err", err, "retry_in", routeScan)
		}
		return
	}
	context.AfterFunc(ctx, pl.Close) // pulls in flight end with the fetching
	q := &queue{pl: pl, rank: rank}
	p.routes[key] = q
	lists := *p.lists.Load()
	lists[rank] = append(lists[rank][:len(lists[rank]):len(lists[rank])], q) // a new array: readers hold the old
	p.lists.Store(&lists)
	p.r.log.Debug("pulling a routed queue", "algorithm", p.alg.Name, "priority", broker.Priorities[rank], "requires", key.req)
	p.ring(q)
}

// routeLoop makes the routes of the requirement sets queued jobs use that
// the runner meets, at once and every routeScan, until ctx ends: one read
// of the queue stream's routed subjects for all its algorithms. Only
// runners with labels run it.
func (r *Runner) routeLoop(ctx context.Context) {
	defer r.wg.Done()
	byName := make(map[string]*pool, len(r.served))
	for _, p := range r.served {
		byName[p.alg.Name] = p
	}
	t := time.NewTicker(routeScan)
	defer t.Stop()
	for {
		qs, err := r.b.RoutedQueues(ctx, "")
		if err != nil && ctx.Err() == nil {
			r.log.Warn("read the routed queues", "err", err, "retry_in", routeScan)
		}
		for _, q := range qs {
			p := byName[q.Algorithm]
			if p == nil || !q.Requires.MetBy(r.cfg.Labels) {
				continue
			}
			p.routeMu.Lock()
			_, ok := p.routes[routeKey{rankOf(q.Priority), q.Requires.Canonical()}]
			p.routeMu.Unlock()
			if !ok {
				p.addRoute(ctx, rankOf(q.Priority), q.Requires)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
