package gateway

import (
	"context"
	"sync"
	"time"
)

// undoEvery is how often the undos that failed are tried again.
const undoEvery = 2 * time.Second

// undos are the jobs whose submission failed after their record was
// stored and whose removal failed too (the broker out of disk, or away):
// tried again until the record is gone, so that no record of a refused
// submit stays queued. A runner drops a message whose job has no record.
type undos struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (u *undos) add(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids == nil {
		u.ids = map[string]struct{}{}
	}
	u.ids[id] = struct{}{}
}

func (u *undos) pending() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.ids))
	for id := range u.ids {
		out = append(out, id)
	}
	return out
}

func (u *undos) done(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.ids, id)
}

// undoLoop tries the failed undos again every undoEvery, until ctx ends.
func (g *Gateway) undoLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(undoEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range g.undone.pending() {
			if err := g.b.DeleteJob(ctx, id); err != nil {
				break // the broker still fails: the next tick
			}
			g.undone.done(id)
			g.log.Info("removed the record of a refused submit", "job_id", id)
		}
	}
}
