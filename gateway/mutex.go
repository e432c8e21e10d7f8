package gateway

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Every gateway watches every job record: when a job with a mutex key
// turns final it tells its mutex service (package services), which
// passes the key to the next job in line (whichever process passes it
// first; the others find it passed). The runner that ran the job tells
// its own, so keys move on while no gateway runs. See broker/mutex.go.

// mutexField marks the records worth decoding: only jobs with a mutex key.
var mutexField = []byte(`"mutex":"`)

// seenJob is called with each job record the store watch delivers as the
// job turns final, from prev (as the live view had it; "" if unknown).
func (g *Gateway) seenJob(data []byte, prev conveyor.Status) {
	if !bytes.Contains(data, mutexField) {
		return
	}
	select {
	case <-g.ready: // past the initial replay: the sweep covers that
	default:
		return
	}
	var j struct {
		ID        string          `json:"id"`
		Status    conveyor.Status `json:"status"`
		Tenant    string          `json:"tenant"`
		Mutex     string          `json:"mutex"`
		StartedAt *time.Time      `json:"started_at"`
	}
	if json.Unmarshal(data, &j) != nil || j.Mutex == "" || !j.Status.Terminal() {
		return
	}
	if j.Status == conveyor.StatusCanceled && j.StartedAt != nil && prev != conveyor.StatusQueued && prev != conveyor.StatusScheduled {
		// Canceled while an attempt may still run: its code stops a
		// moment later, and only then may the next job of the key start.
		// The runner passes the key on as its attempt ends; should the
		// runner be gone, the sweep does (broker.SweepMutexes). A job
		// canceled while it waited for a retry passes it at once.
		return
	}
	g.mutexes.Released(j.Tenant, j.Mutex, j.ID)
}

// LiveStatus returns the status of a live job (queued, scheduled,
// running) as the gateway's live view has it, and whether it has the job:
// a hint that spares the mutex sweep reads (services.MutexesConfig).
func (g *Gateway) LiveStatus(id string) (conveyor.Status, bool) { return g.jobs.status(id) }
