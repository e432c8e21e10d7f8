package gateway

import (
	"context"

	"github.com/conveyor-run/conveyor"
)

// maxDue bounds the writes of due that are in flight at once.
const maxDue = 16

// due marks job id queued, its time having come: the broker's scheduler
// has just put it on its queue (see broker.ScheduleJob), a fraction of a
// second early, and its runner holds it until its run_at. A runner that
// takes it at once starts it from scheduled, so the write is only for the
// views, and only when this gateway still sees the job scheduled; every
// gateway tries, and the first write wins. It runs beside the queue
// follower, which it must not hold up.
func (g *Gateway) due(ctx context.Context, id string) {
	if st, ok := g.jobs.status(id); !ok || st != conveyor.StatusScheduled {
		return
	}
	select {
	case g.dueSlots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.dueSlots }()
		_, _, err := g.b.UpdateJob(ctx, id, nil, 0, (*conveyor.Job).Due)
		if err != nil && conveyor.ErrorCode(err) != conveyor.ECONFLICT && ctx.Err() == nil {
			g.log.Warn("mark a due job queued", "job_id", id, "err", err)
		}
	}()
}
