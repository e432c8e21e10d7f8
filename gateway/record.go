package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/jobindex"
)

// record is a job as the store holds it: its JSON, passed to clients as it
// is — decoding and encoding it again for every answer cost a tenth of the
// gateway's CPU — and the status read from its first fields.
type record struct {
	data   []byte
	id     string
	status conveyor.Status
	tenant string
}

func newRecord(data []byte) record {
	s, _ := summarize(data)
	return record{data: data, id: s.ID, status: s.Status, tenant: s.Tenant}
}

// read returns the stored record of job id, or ENOTFOUND — also for a job
// of another tenant than the request's.
func (g *Gateway) read(ctx context.Context, id string) (record, error) {
	// A job that finished lately is read the most (a client polls it,
	// or waits for it and reads it): its final record is in memory,
	// waiting to be archived, and spares the broker a request. A final
	// record changes only by a delete or by a version that may not be
	// archived, and both drop it from there.
	data := g.archive.held(id)
	if data == nil {
		data = g.archivedRecord(ctx, id)
	}
	if data == nil {
		var err error
		if data, _, err = g.record(ctx, id); err != nil {
			return record{}, err
		}
	}
	rec := newRecord(data)
	return rec, visible(ctx, rec)
}

// writeRecord answers with a job record, as a client sees it: a large
// payload the record refers to streamed from the object store in its
// place (see broker.OpenJobJSON).
func (g *Gateway) writeRecord(w http.ResponseWriter, r *http.Request, status int, rec record) {
	jj, err := broker.OpenJobJSON(r.Context(), g.b, rec.data)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := jj.WriteTo(w); err != nil {
		g.log.Warn("write a job's payload", "job_id", rec.id, "err", err)
		return
	}
	_, _ = w.Write([]byte{'\n'})
}

// writeJob answers with job j, as writeRecord does its record.
func (g *Gateway) writeJob(w http.ResponseWriter, r *http.Request, status int, j *conveyor.Job) {
	c := *j
	if c.InputRef != nil {
		c.Input = nil // the record's, held too
	}
	if c.OutputRef != nil {
		c.Output = nil
	}
	data, err := json.Marshal(&c)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	g.writeRecord(w, r, status, record{data: data, id: j.ID, status: j.Status, tenant: j.Tenant})
}

// removePayloads removes the files of the payloads the job record data
// refers to: the job is deleted.
func (g *Gateway) removePayloads(ctx context.Context, data []byte) {
	if !bytes.Contains(data, []byte(`_ref":{`)) {
		return
	}
	var j conveyor.Job
	if err := json.Unmarshal(data, &j); err != nil {
		return
	}
	g.dropPayloads(ctx, &j)
}

// dropPayloads removes the files of the payloads the jobs keep in the
// object store: jobs not accepted after all, or deleted.
func (g *Gateway) dropPayloads(ctx context.Context, jobs ...*conveyor.Job) {
	for _, j := range jobs {
		for _, ref := range broker.Payloads(j) {
			if err := g.b.DeleteFile(ctx, ref.File); err != nil && conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
				g.log.Warn("remove a job's stored payload (it expires with the retention)", "job_id", j.ID, "file", ref.File, "err", err)
			}
		}
	}
}

// record returns the JSON of job id and its store revision: from the store;
// for a finished job archived, from the history, with revision 0; or, for
// a job only its queue message holds yet, from that message, with
// revision 0. It returns ENOTFOUND for a job that is in none of them.
func (g *Gateway) record(ctx context.Context, id string) ([]byte, uint64, error) {
	data, rev, err := g.b.GetJobRecord(ctx, id)
	if conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		return data, rev, err
	}
	st, at, known := g.disk.Lookup(ctx, id)
	if at == 0 && known && st.Terminal() && !g.jobs.has(id) {
		// Finished, and archived by another gateway a moment ago: the
		// history's message is on its way.
		if at = g.awaitArchived(ctx, id); at == 0 && madeWithin(id, time.Now(), g.b.Config().Retention) {
			// Or the history's feed is slow (its follower reopening
			// after a node died): the job is somewhere, and not expired.
			return nil, 0, conveyor.Errorf(conveyor.EUNAVAILABLE, "job %s finished and left the job store; its record has not reached this gateway yet: try again shortly", id)
		}
	}
	if at > 0 {
		// Finished, and moved to the history (see archive.go).
		data, err := g.b.ArchivedRecord(ctx, id, at)
		return data, 0, err
	}
	seq := g.jobs.queuedSeq(id)
	if seq == 0 && justMade(id, time.Now()) && g.catchUp(ctx) {
		seq = g.jobs.queuedSeq(id) // queued through another gateway a moment ago
	}
	if seq == 0 {
		// Unknown — or stored between the read and now, its entry then no
		// longer pointing at its message: read again.
		return g.b.GetJobRecord(ctx, id)
	}
	if data, qerr := g.b.QueuedRecord(ctx, seq); qerr == nil {
		return data, 0, nil
	}
	// Its first writer stored it meanwhile, and the message may be gone.
	return g.b.GetJobRecord(ctx, id)
}

// archivedRecord returns the record of job id from the history, if the
// index knows it archived and the job is not live; else nil. Most jobs
// read are neither live nor waiting to be archived (see read), and asking
// the store first would cost a request in vain. It is for reads only:
// a job whose archive was cut short between its append and its purge is
// in the store too, and whoever removes or follows it must know that
// (record).
//
// The index's answer costs a read of a finished job the store keeps (one
// bound to an idempotency key, say) ~12-18 µs, and spares a read of an
// archived one ~40 (BenchmarkGetKept, BenchmarkGetArchived); a gateway
// that keeps finished jobs in the store (history.keep_finished) does not
// ask.
func (g *Gateway) archivedRecord(ctx context.Context, id string) []byte {
	if g.cfg.ArchiveAfter < 0 || g.jobs.has(id) {
		return nil
	}
	st, at, known := g.disk.Lookup(ctx, id)
	if !known || at == 0 || !st.Terminal() {
		return nil
	}
	data, err := g.b.ArchivedRecord(ctx, id, at)
	if err != nil {
		return nil
	}
	return data
}

// recentID bounds how old a job id may be for the job to be one queued
// through another gateway so lately that this one's index has not seen it
// yet (that lag is milliseconds; the margin is for the gateways' clocks).
const recentID = time.Minute

// justMade reports whether id is a job id made within recentID of now:
// only such a job can be missing from the index for want of catching up,
// so a read of an old or malformed id asks the broker nothing more.
func justMade(id string, now time.Time) bool {
	return madeWithin(id, now, recentID)
}

// madeWithin reports whether id is a job id made within d of now.
func madeWithin(id string, now time.Time, d time.Duration) bool {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return false
	}
	return now.Sub(ulid.Time(u.Time())).Abs() < d
}

// catchUp waits, for up to a second, until the index has taken every queue
// message there is now, so that a job just queued through another gateway
// is found; it reports whether the index was behind.
func (g *Gateway) catchUp(ctx context.Context) bool {
	if g.queue == nil || !g.queue.Behind(ctx) {
		return false
	}
	pollFor(ctx, time.Second, func() bool { return !g.queue.Behind(ctx) })
	return true
}

// pollFor calls done every 5 ms until it reports true, within passes or
// ctx ends, and reports whether done did: the wait for a feed of the
// gateway's views to bring what another gateway did a moment ago.
func pollFor(ctx context.Context, within time.Duration, done func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// indexSubmitted records j, just queued by this gateway in the message at
// seq as data, in the gateway's views: the queue follower will find it
// there and skip it.
func (g *Gateway) indexSubmitted(j *conveyor.Job, data []byte, now time.Time, seq uint64) {
	g.jobs.putSubmitted(j, data, now, seq)
	g.disk.Put(jobindex.Change{ID: j.ID, Record: data, Status: j.Status, Updated: now, Seq: seq, First: true})
}

// indexStored records a job this gateway just stored and queued in its
// views at once, as indexSubmitted does a job its queue message holds, so
// that a list or count right after the submit has it; the store's watch
// brings it too, and never loses a later version to it.
func (g *Gateway) indexStored(s broker.Stored) {
	now := time.Now()
	// The job index first: a change the watch puts after it then counts
	// the job as new (see jobindex.Change.First), whichever view it
	// reaches first.
	g.disk.Put(jobindex.Change{ID: s.Job.ID, Record: s.Data(), Status: s.Job.Status, Updated: now, First: true})
	g.jobs.putStored(s.Job, now)
}

// undo removes a job whose submission failed before it was accepted, from
// the store and at once from the gateway's views: a list right after the
// refusal does not show it (the store's watch tells the views too, later).
func (g *Gateway) undo(ctx context.Context, id string) {
	if err := g.b.DeleteJob(ctx, id); err != nil {
		g.log.Warn("remove a job whose submission failed; trying again", "job_id", id, "err", err)
		g.undone.add(id)
	}
	g.jobs.remove(id)
	g.disk.Put(jobindex.Change{ID: id})
}

// awaitArchived waits, for up to a second, until the index knows where in
// the history the record of job id is, and returns it (0 if it did not
// learn it in time).
func (g *Gateway) awaitArchived(ctx context.Context, id string) (at uint64) {
	pollFor(ctx, time.Second, func() bool {
		at = g.disk.ArchivedAt(ctx, id)
		return at > 0
	})
	return at
}

// writePayloaded writes the JSON of rec to w as a client sees it (see
// writeRecord), into an answer already begun: an error leaves it cut
// short.
func (g *Gateway) writePayloaded(ctx context.Context, w io.Writer, rec record) error {
	jj, err := broker.OpenJobJSON(ctx, g.b, rec.data)
	if err == nil {
		_, err = jj.WriteTo(w)
	}
	if err != nil {
		g.log.Warn("write a job's payload", "job_id", rec.id, "err", err)
	}
	return err
}
