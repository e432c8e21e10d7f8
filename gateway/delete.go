package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/jobindex"
)

// A delete reaches every gateway through the history stream: the gateway
// that deletes a job appends a deletion marker there first (see
// broker.MarkDeleted), which every gateway's history follower sees, in
// order and again after a restart from its index's cursor, and forgets
// the job; then it removes the job's record and log from the broker.
// The store's purge of the record alone would not do: every gateway takes
// a purge of a job it knows as final for an archive and ignores it.
//
// A job deleted while another gateway is archiving it can come back as a
// history message appended after the marker: each gateway remembers the
// jobs deleted lately (deletions) and ignores, and removes, such a
// record; it ignores later store writes of them too (a watch replayed
// after a restart).

// deletedMemory is how long a gateway remembers a deleted job, to refuse
// a late record of it: far longer than an archive takes (ArchiveAfter,
// plus retries while the broker fails over).
const deletedMemory = 10 * time.Minute

// deletions are the jobs deleted lately, as this gateway saw them.
type deletions struct {
	mu sync.RWMutex
	at map[string]time.Time
}

// add remembers id as deleted now, and forgets what is older than
// deletedMemory.
func (d *deletions) add(id string) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == nil {
		d.at = map[string]time.Time{}
	}
	d.at[id] = now
	if len(d.at) > 1024 {
		for k, t := range d.at {
			if now.Sub(t) > deletedMemory {
				delete(d.at, k)
			}
		}
	}
}

// has reports whether id was deleted lately.
func (d *deletions) has(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.at[id]
	return ok && time.Since(t) <= deletedMemory
}

// handleDelete is DELETE /v1/jobs/{id}: it removes a final job — its
// record, its log, its artifacts, its stored input and output and its row in every gateway's job index — and
// answers 204. A job not final yet is 409 (cancel it first); an unknown
// job, or another tenant's, 404.
func (g *Gateway) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// Once the marker is written the delete is done whatever the client
	// does: the rest is not left half-way.
	ctx := context.WithoutCancel(r.Context())
	data, rev, err := g.record(ctx, id)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	rec := newRecord(data)
	if err := visible(ctx, rec); err != nil {
		g.writeError(w, r, err)
		return
	}
	if !rec.status.Terminal() {
		g.writeError(w, r, conveyor.Errorf(conveyor.ECONFLICT, "job %s is %s: only a finished job can be deleted (cancel it first)", id, rec.status))
		return
	}
	// Archived, or both archived and in the store (an archive cut short
	// between its append and its purge): either way, remove both.
	archived := g.disk.ArchivedAt(ctx, id)
	if _, err := g.b.MarkDeleted(ctx, id); err != nil {
		g.writeError(w, r, err)
		return
	}
	// This gateway forgets it at once: a list right after the answer
	// does not show it. Its history follower sees the marker later.
	g.forget(id, 0)
	if err := g.b.RemoveJob(ctx, id, rev > 0, archived); err != nil {
		// Every gateway has forgotten the job; its data stays until
		// retention unless the delete is made again.
		g.writeError(w, r, err)
		return
	}
	g.removeArtifacts(ctx, data)
	g.removePayloads(ctx, data)
	w.WriteHeader(http.StatusNoContent)
}

// forget removes the deleted job id from the gateway's views and
// remembers it as deleted; historySeq, when not 0, is the deletion
// marker's position in the history, to move the index's cursor to.
func (g *Gateway) forget(id string, historySeq uint64) {
	g.deleted.add(id)
	g.archive.forget(id)
	g.jobs.remove(id)
	g.indexed.Add(1)
	g.disk.Put(jobindex.Change{ID: id, HistorySeq: historySeq})
}
