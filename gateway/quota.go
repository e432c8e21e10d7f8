package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Quota bounds what one tenant keeps: jobs waiting (queued or scheduled)
// and jobs retained (every job the index holds, live or finished, until
// retention). Zero: no bound.
type Quota struct {
	MaxQueued   int
	MaxRetained int
}

// retainedEvery is how often a tenant's retained jobs are counted again
// from the job index: a quota of retained jobs is checked against a count
// at most this old (plus the jobs this gateway made since), so a burst
// through several gateways may overshoot it by what they took meanwhile.
const retainedEvery = time.Second

// quotas checks the tenants' quotas.
type quotas struct {
	mu       sync.Mutex
	retained map[string]retainedCount
}

type retainedCount struct {
	n  int
	at time.Time
}

// mayTake returns EFULL (429) when n more jobs of tenant would take it
// past its quota (a tenant with none, and jobs of no tenant, pass), and
// ESTORAGE (507) when the disk has no room for new jobs.
func (g *Gateway) mayTake(ctx context.Context, tenant string, n int) error {
	if g.cfg.Storage != nil {
		if err := g.cfg.Storage(ctx); err != nil {
			return err
		}
	}
	q, ok := g.cfg.Quotas[tenant]
	if !ok || tenant == "" {
		return nil
	}
	if q.MaxQueued > 0 {
		waiting := g.jobs.tenantCount(tenant, conveyor.StatusQueued) + g.jobs.tenantCount(tenant, conveyor.StatusScheduled)
		if waiting+n > q.MaxQueued {
			return conveyor.Errorf(conveyor.EFULL, "tenant %s has %d jobs waiting, its quota is %d (max_queued); try again later", tenant, waiting, q.MaxQueued)
		}
	}
	if q.MaxRetained > 0 {
		kept, err := g.retainedOf(ctx, tenant)
		if err != nil {
			return err
		}
		if kept+n > q.MaxRetained {
			return conveyor.Errorf(conveyor.EFULL, "tenant %s keeps %d jobs, its quota is %d (max_retained): delete finished jobs or wait for them to expire", tenant, kept, q.MaxRetained)
		}
		g.quota.mu.Lock()
		c := g.quota.retained[tenant]
		c.n += n // made here since the count
		g.quota.retained[tenant] = c
		g.quota.mu.Unlock()
	}
	return nil
}

// retainedOf returns how many jobs of tenant the job index holds, counted
// at most retainedEvery ago.
func (g *Gateway) retainedOf(ctx context.Context, tenant string) (int, error) {
	g.quota.mu.Lock()
	c, ok := g.quota.retained[tenant]
	g.quota.mu.Unlock()
	if ok && time.Since(c.at) < retainedEvery {
		return c.n, nil
	}
	counts, err := g.disk.Counts(ctx, tenant, false, time.Time{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, byStatus := range counts {
		for _, k := range byStatus {
			n += k
		}
	}
	g.quota.mu.Lock()
	g.quota.retained[tenant] = retainedCount{n: n, at: time.Now()}
	g.quota.mu.Unlock()
	return n, nil
}
