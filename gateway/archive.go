package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/jobindex"
)

// The gateway archives the jobs it sees finish: their records leave the
// job store for the broker's history stream (broker.Archive), so that the
// broker's memory follows the live jobs, and the job index learns where
// each record went, from the history stream, to read it there. Every
// gateway archives every job it sees final; the broker makes one message
// of it however many do. A gateway that starts archives the finished
// jobs the store still holds (a gateway stopped before it archived them).

// archiver archives jobs off the store's watch, many at a time: noting a
// job never waits.
type archiver struct {
	g    *Gateway
	mu   sync.Mutex
	todo map[string]toArchive
	// recent holds the jobs this archiver moved lately: their purge from
	// the store and their message in the history are its own doing when
	// the feeds bring them back, and no news (see expected and own).
	recent map[string]*archived
	wake   chan struct{}
}

// archived is a job this archiver moved lately.
type archived struct {
	at            time.Time
	seq           uint64 // in the history; 0 until appended
	purged, known bool   // the purge, the history message seen back
}

// expected reports whether the removal of job id from the store is one
// this archiver made.
func (a *archiver) expected(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.recent[id]
	if r == nil {
		return false
	}
	r.purged = true
	a.done(id, r)
	return true
}

// own reports whether the history message at seq is of job id as this
// archiver appended it. The message may come back before its append is
// acknowledged: while this archiver appends job id, a message of it is
// that append (the history keeps one message of a job however many
// gateways append it).
func (a *archiver) own(id string, seq uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.recent[id]
	if r == nil || (r.seq != 0 && r.seq != seq) {
		return false
	}
	r.seq, r.known = seq, true
	a.done(id, r)
	return true
}

// done forgets a recent job once both feeds have brought it back.
func (a *archiver) done(id string, r *archived) {
	if r.purged && r.known {
		delete(a.recent, id)
	}
}

// pruneRecent forgets the jobs archived before cutoff that a feed never
// brought back (a purge refused, the record having moved on).
func (a *archiver) pruneRecent(cutoff time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, r := range a.recent {
		if r.at.Before(cutoff) {
			delete(a.recent, id)
		}
	}
}

type toArchive struct {
	data []byte // nil for a record over heldMax: read again when due
	rev  uint64
	at   time.Time // when the job was seen final
}

// heldMax is the largest record held in memory while it waits to be
// archived; a larger one is read from the store when it is due, so that
// what waits costs memory by the job, not by the size of its output.
const heldMax = 16 << 10

// DefaultArchiveAfter is how long a finished job stays in the store
// before it is archived, by default: its result is most read in the
// moments after it finished (by waiting clients, event streams,
// callbacks), and a read from the store is cheaper than one through the
// index and the history. The broker's memory then follows the jobs live
// or finished within it.
const DefaultArchiveAfter = 5 * time.Second

// archiveFields mark the records that need a closer look before they are
// archived (see broker.Archivable).
var (
	idempotencyField = []byte(`"idempotency_key":"`)
	pendingCallback  = []byte(`"callback":{`)
)

// note queues the final record data of job id at rev for archiving, if
// it may leave the store; a version that may not replaces none noted
// before (nor is it read from here, see held).
func (a *archiver) note(id string, data []byte, rev uint64) {
	if a.g.cfg.ArchiveAfter < 0 {
		return
	}
	ok := archivable(data)
	if len(data) > heldMax {
		data = nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		delete(a.todo, id)
		return
	}
	a.todo[id] = toArchive{data, rev, time.Now()}
}

// archivable reports whether the job of a final record may leave the
// store (see broker.Archivable), decoding it only when it may not.
func archivable(data []byte) bool {
	if bytes.Contains(data, idempotencyField) || bytes.Contains(data, pendingCallback) {
		var j conveyor.Job
		if json.Unmarshal(data, &j) != nil || !broker.Archivable(&j) {
			return false
		}
	}
	return true
}

// forget drops job id, deleted, from what waits to be archived.
func (a *archiver) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.todo, id)
	delete(a.recent, id)
}

// backlog returns how many jobs wait to be archived.
func (a *archiver) backlog() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.todo)
}

// holds reports whether job id is a finished job waiting to be archived.
func (a *archiver) holds(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.todo[id]
	return ok
}

// held returns the final record of job id as the store's watch brought
// it, while the job waits to be archived; nil if this archiver does not
// hold it (not final, archived already, or too large to hold).
func (a *archiver) held(id string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.todo[id].data
}

// take returns the jobs due for archiving (seen final before due), and
// forgets them.
func (a *archiver) take(due time.Time) map[string]toArchive {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]toArchive{}
	for id, t := range a.todo {
		if !t.at.After(due) {
			out[id] = t
			delete(a.todo, id)
		}
	}
	return out
}

// archiveBatch bounds how many jobs one call of broker.Archive moves.
const archiveBatch = 512

// loop archives what is noted, once it has been final for archiveAfter,
// until ctx ends, many jobs at a time.
func (a *archiver) loop(ctx context.Context) {
	defer a.g.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	try := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			a.pruneRecent(now.Add(-time.Minute))
		case <-a.wake:
		}
		todo := a.take(time.Now().Add(-a.g.cfg.ArchiveAfter))
		batch := make([]broker.ToArchive, 0, min(len(todo), archiveBatch))
		failed := 0
		for id, t := range todo {
			if t.data == nil {
				data, rev, err := a.g.b.GetJobRecord(ctx, id)
				if err != nil || rev != t.rev {
					continue // gone, or changed: a newer version is noted
				}
				t.data = data
			}
			batch = append(batch, broker.ToArchive{ID: id, Data: t.data, Rev: t.rev})
			if len(batch) == archiveBatch {
				failed += a.archive(ctx, batch)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			failed += a.archive(ctx, batch)
		}
		if failed == 0 {
			try = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		a.g.log.Warn("archive finished jobs: the broker fails; trying again", "jobs", failed)
		select {
		case <-time.After(loopBackoff.Delay(try)):
		case <-ctx.Done():
			return
		}
		try++
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// archive moves batch to the history now, and returns how many of its
// jobs the broker failed to take: those are noted again, for the next try.
func (a *archiver) archive(ctx context.Context, batch []broker.ToArchive) (failed int) {
	now := time.Now()
	a.mu.Lock()
	for _, t := range batch {
		a.recent[t.ID] = &archived{at: now}
	}
	a.mu.Unlock()
	// Where each record goes is in the index before the record leaves the
	// store: a read never finds it in neither.
	appended := func(i int, seq uint64) {
		t := batch[i]
		if a.g.deleted.has(t.ID) {
			return // deleted meanwhile: its history follower removes the record
		}
		st := conveyor.Status("")
		if s, ok := summarize(t.Data); ok {
			st = s.Status
		}
		a.g.disk.Put(jobindex.Change{ID: t.ID, Record: t.Data, Status: st, Updated: now, Archived: seq})
		a.mu.Lock()
		if r := a.recent[t.ID]; r != nil {
			r.seq = seq
		}
		a.mu.Unlock()
	}
	for i, err := range a.g.b.Archive(ctx, batch, appended) {
		if err == nil || errors.Is(err, broker.ErrArchived) {
			continue
		}
		// The broker fails: keep it for the next try, unless a newer
		// version was noted meanwhile.
		failed++
		t := batch[i]
		a.mu.Lock()
		delete(a.recent, t.ID)
		if _, newer := a.todo[t.ID]; !newer {
			data := t.Data
			if len(data) > heldMax {
				data = nil
			}
			a.todo[t.ID] = toArchive{data, t.Rev, time.Time{}}
		}
		a.mu.Unlock()
	}
	return failed
}

// sweep archives the finished jobs the store still holds, which a gateway
// stopped before it archived. The store holds the live jobs and those: a
// read of each that this gateway does not know as live.
func (a *archiver) sweep(ctx context.Context) {
	if a.g.cfg.ArchiveAfter < 0 {
		return
	}
	var ids []string
	err := a.g.b.JobKeys(ctx, func(id string) {
		if !a.g.jobs.has(id) {
			ids = append(ids, id)
		}
	})
	if err != nil {
		a.g.log.Warn("list the jobs in the store", "err", err)
		return
	}
	// A batch at a time, so that a store left full (a gateway stopped
	// in a burst) costs no more memory than a batch.
	batch := make([]broker.ToArchive, 0, archiveBatch)
	for _, id := range ids {
		data, rev, err := a.g.b.GetJobRecord(ctx, id)
		if err != nil {
			continue
		}
		if s, ok := summarize(data); ok && s.Status.Terminal() && archivable(data) {
			batch = append(batch, broker.ToArchive{ID: id, Data: data, Rev: rev})
		}
		if len(batch) == archiveBatch {
			a.archive(ctx, batch)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		a.archive(ctx, batch)
	}
}

// followHistory feeds the gateway's views from the history stream: where
// each finished job's record now is.
func (g *Gateway) followHistory(ctx context.Context, after uint64) (caughtUp, done <-chan struct{}, err error) {
	return g.b.FollowHistory(ctx, after, func(m broker.Archived) {
		if m.Deleted {
			g.forget(m.ID, m.Seq)
			return
		}
		if g.deleted.has(m.ID) {
			// A record of a job deleted lately, archived again by a
			// gateway that had not seen the delete yet: remove it.
			g.archive.own(m.ID, m.Seq)
			g.disk.Advance(0, 0, m.Seq)
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := g.b.DeleteArchived(dctx, m.ID, m.Seq); err != nil {
				g.log.Warn("remove a deleted job's record from the history", "job_id", m.ID, "err", err)
			}
			return
		}
		s, ok := summarize(m.Data)
		if g.archive.own(m.ID, m.Seq) {
			// This gateway's own, indexed as it archived it — or about
			// to be, if the append's acknowledgement is not in yet: the
			// same change, with the cursor.
			if !ok {
				g.disk.Advance(0, 0, m.Seq)
				return
			}
			g.disk.Put(jobindex.Change{ID: m.ID, Record: m.Data, Status: s.Status, Updated: m.Time, Archived: m.Seq, HistorySeq: m.Seq})
			return
		}
		if !ok || s.ID != m.ID {
			g.disk.Advance(0, 0, m.Seq)
			return
		}
		g.indexed.Add(1)
		_, prev, wake := g.jobs.putThen(s, m.Data, 0, m.Time, 0)
		g.disk.Put(jobindex.Change{ID: s.ID, Record: m.Data, Status: s.Status, Prev: prev, Updated: m.Time, Archived: m.Seq, HistorySeq: m.Seq})
		wake() // once the index has it, as for the store's changes
	})
}
