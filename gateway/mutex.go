package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/conveyor-run/conveyor"
)

// The gateway passes mutex keys on: every gateway watches every job
// record, so when a job that holds a key turns final, whichever gateway
// sees it first passes the key to the next job in line (the others find it
// passed already). A sweep every heartbeat repairs what a crash in the
// middle of a hand-over left behind. See broker/mutex.go.

// mutexField marks the records worth decoding: only jobs with a mutex key.
var mutexField = []byte(`"mutex":"`)

// finished is a final job that held, or waited for, a mutex key.
type finished struct{ tenant, key, id string }

// seenJob is called with each job record the store watch delivers as the
// job turns final.
func (g *Gateway) seenJob(data []byte) {
	if !bytes.Contains(data, mutexField) {
		return
	}
	select {
	case <-g.ready: // past the initial replay: the sweep covers that
	default:
		return
	}
	var j struct {
		ID     string          `json:"id"`
		Status conveyor.Status `json:"status"`
		Tenant string          `json:"tenant"`
		Mutex  string          `json:"mutex"`
	}
	if json.Unmarshal(data, &j) != nil || j.Mutex == "" || !j.Status.Terminal() {
		return
	}
	select {
	case g.released <- finished{j.Tenant, j.Mutex, j.ID}:
	default: // a backlog: the next sweep passes the key on
	}
}

// mutexLoop passes on the keys of jobs seen final, and sweeps.
func (g *Gateway) mutexLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(g.b.Config().Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-g.released:
			if err := g.b.ReleaseMutex(ctx, f.tenant, f.key, f.id); err != nil && ctx.Err() == nil {
				g.log.Warn("pass a mutex key on", "job_id", f.id, "mutex", f.key, "err", err)
			}
		case <-t.C:
			if err := g.b.SweepMutexes(ctx, g.jobs.status); err != nil && ctx.Err() == nil {
				g.log.Warn("sweep mutex keys", "err", err)
			}
		}
	}
}
