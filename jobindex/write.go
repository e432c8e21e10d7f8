package jobindex

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/backoff"
)

// Change is one change of a job, as the index is told of it.
type Change struct {
	// ID is the job's id.
	ID string
	// Record is the job's record (the JSON of a conveyor.Job); nil when the
	// job was removed from the store.
	Record []byte
	// Status is the record's status.
	Status conveyor.Status
	// Updated is when the record was written.
	Updated time.Time
	// Seq is the queue message that alone holds the job while the store
	// has no record of it (0 once it has one).
	Seq uint64
	// First marks a record read from the job's queue message: the job's
	// first version, which never replaces a version the index has.
	First bool
	// Prev, when not empty, is the status of the job as the index holds
	// it, or will once the changes put before this one are committed: the
	// caller knows it, which spares the commit a read. Empty: unknown.
	Prev conveyor.Status
	// Archived, when not 0, is the history message that holds the job's
	// final record, which has left the store.
	Archived uint64
	// StoreRev, QueueSeq and HistorySeq, when not 0, are the position in
	// the broker's feeds this change was read at: the cursor moves to
	// them once it is committed.
	StoreRev, QueueSeq, HistorySeq uint64

	// added marks a change that follows the first version of a job, still
	// queued: the index has no version of it.
	added bool
}

// Put queues a change for the next commit. A later change of the same job
// replaces an earlier one still queued (but a First change never replaces
// another). It waits while too many changes are queued.
func (x *Index) Put(c Change) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for len(x.pending) >= maxPending {
		x.kickLocked()
		x.room.Wait()
	}
	switch have, ok := x.pending[c.ID]; {
	case !ok:
		x.pending[c.ID] = c
	case c.First:
		switch {
		case have.First && c.Seq != 0:
			have.Seq = c.Seq
			x.pending[c.ID] = have
		case have.Record == nil:
			// A removal, then the job's first version (feeds read in
			// another order than they were written, as a rebuild does):
			// the index holds that version, as it would had the two been
			// committed one after the other — and as the caller, which
			// gives later changes of the job their Prev, believes.
			x.pending[c.ID] = c
		}
	default:
		// What the index holds is what it held before the change queued:
		// nothing, when that was the job's first version.
		c.Prev, c.added = have.Prev, have.First || have.added
		c.Archived = max(c.Archived, have.Archived)
		x.pending[c.ID] = c
	}
	x.cur.Store = max(x.cur.Store, c.StoreRev)
	x.cur.Queue = max(x.cur.Queue, c.QueueSeq)
	x.cur.History = max(x.cur.History, c.HistorySeq)
	x.putGen++
	if len(x.pending) >= maxPending/4 {
		x.kickLocked()
	}
}

// Advance moves the cursor without a change: a feed position whose message
// changed no job.
func (x *Index) Advance(storeRev, queueSeq, historySeq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cur.Store = max(x.cur.Store, storeRev)
	x.cur.Queue = max(x.cur.Queue, queueSeq)
	x.cur.History = max(x.cur.History, historySeq)
	x.putGen++
}

func (x *Index) kickLocked() {
	select {
	case x.kick <- struct{}{}:
	default:
	}
}

// Sync commits every change Put before it was called, and returns the
// commit's error (or ctx's).
func (x *Index) Sync(ctx context.Context) error {
	x.mu.Lock()
	gen := x.putGen
	if x.doneGen >= gen {
		x.mu.Unlock()
		return nil
	}
	x.kickLocked()
	stop := context.AfterFunc(ctx, func() {
		x.mu.Lock()
		x.done.Broadcast()
		x.mu.Unlock()
	})
	defer stop()
	for x.doneGen < gen && ctx.Err() == nil {
		x.done.Wait()
	}
	err := x.err
	x.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (x *Index) loop() {
	defer close(x.stopped)
	t := time.NewTicker(x.every)
	defer t.Stop()
	failed := 0 // commits failed in a row
	for {
		select {
		case <-x.stop:
			x.flush()
			return
		case <-t.C:
		case <-x.kick:
		}
		if x.flush() == nil {
			if failed > 0 {
				x.log.Info("job index: committing again", "failed_commits", failed)
			}
			failed = 0
			continue
		}
		// A disk that is full stays so a while: try again later and later
		// (up to half a minute), and say so once in a while, not at
		// every try.
		failed++
		select {
		case <-time.After(commitBackoff.Delay(failed - 1)):
		case <-x.stop:
			x.flush()
			return
		}
	}
}

// commitBackoff spaces the commits that follow a failed one.
var commitBackoff = backoff.Policy{Base: 500 * time.Millisecond, Max: 30 * time.Second}

// flush commits what is pending, in one transaction with the cursor, and
// returns the commit's error.
func (x *Index) flush() error {
	x.mu.Lock()
	if x.putGen == x.doneGen {
		x.mu.Unlock()
		return nil
	}
	x.pending, x.inflight = x.inflight, x.pending
	cur, gen := x.cur, x.putGen
	batch := x.inflight
	x.room.Broadcast()
	x.mu.Unlock()

	err := x.commit(batch, cur)
	if err != nil && x.failures.Add(1)%20 == 1 {
		x.log.Error("job index: commit", "changes", len(batch), "err", err, "failed_commits", x.failures.Load())
	}
	if err == nil {
		x.failures.Store(0)
	}

	x.mu.Lock()
	if err != nil {
		// Keep the changes for the next try, unless newer ones came.
		for id, c := range batch {
			if _, ok := x.pending[id]; !ok {
				x.pending[id] = c
			}
		}
	} else {
		x.doneGen = gen
	}
	clear(x.inflight)
	x.err = err
	x.done.Broadcast()
	x.mu.Unlock()
	return err
}

type row struct {
	algorithm, status, tenant string
}

type countKey struct {
	tenant, algorithm string
	status            conveyor.Status
}

func (x *Index) commit(batch map[string]Change, cur Cursor) error {
	tx, err := x.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	get, err := tx.Prepare(`SELECT algorithm, status, tenant FROM jobs WHERE id = ?`)
	if err != nil {
		return err
	}
	defer get.Close()
	const columns = `(id, algorithm, status, tenant, updated, seq, owes, archived, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insert, err := tx.Prepare(`INSERT INTO jobs ` + columns + ` ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return err
	}
	defer insert.Close()
	// A job changes neither algorithm nor tenant: leaving them out of the
	// update spares SQLite the upkeep of their indexes.
	put, err := tx.Prepare(`INSERT INTO jobs ` + columns + `
		ON CONFLICT (id) DO UPDATE SET status = excluded.status,
		updated = excluded.updated, seq = excluded.seq, owes = excluded.owes, archived = max(archived, excluded.archived),
		summary = excluded.summary`)
	if err != nil {
		return err
	}
	defer put.Close()
	archive, err := tx.Prepare(`UPDATE jobs SET archived = ? WHERE id = ? AND status = ?`)
	if err != nil {
		return err
	}
	defer archive.Close()
	label, err := tx.Prepare(`INSERT OR IGNORE INTO labels (key, value, id) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer label.Close()
	counts := map[countKey]int{}
	var summary []byte // the summary of each job in turn
	for id, c := range batch {
		if c.Archived > 0 && c.Prev == "" && !c.added && !c.First {
			// The record the index has, archived: only where it now is.
			res, err := archive.Exec(int64(c.Archived), id, string(c.Status))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				continue
			}
		}
		// What the index holds of the job: known to the caller, or read.
		var old row
		exists := c.Prev != ""
		if c.Prev == "" && !c.First && !c.added {
			err := get.QueryRow(id).Scan(&old.algorithm, &old.status, &old.tenant)
			if err != nil && err != sql.ErrNoRows {
				return err
			}
			exists = err == nil
		}
		if c.Record == nil {
			if exists {
				if err := deleteJob(tx, id); err != nil {
					return err
				}
				counts[countKey{old.tenant, old.algorithm, conveyor.Status(old.status)}]--
			}
			continue
		}
		var s conveyor.SummaryKeys
		summary, s, err = conveyor.AppendSummary(summary[:0], c.Record)
		if err != nil {
			x.log.Warn("job index: unreadable job record skipped", "job_id", id, "err", err)
			continue
		}
		if c.Prev != "" {
			old = row{s.Algorithm, string(c.Prev), s.Tenant} // a job changes neither algorithm nor tenant
		}
		args := []any{id, s.Algorithm, string(s.Status), s.Tenant, c.Updated.UnixMilli(), int64(c.Seq), owesCallback(s.Status, c.Record), int64(c.Archived), summary}
		inserted := !exists
		if c.First {
			// Only if the index has no version of the job yet.
			res, err := insert.Exec(args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			if inserted = n == 1; !inserted {
				continue
			}
		} else if _, err := put.Exec(args...); err != nil {
			return err
		}
		if inserted && s.Labels != nil {
			var labels map[string]string
			if err := json.Unmarshal(s.Labels, &labels); err != nil {
				return err
			}
			for k, v := range labels {
				if _, err := label.Exec(k, v, id); err != nil {
					return err
				}
			}
		} else {
			counts[countKey{old.tenant, old.algorithm, conveyor.Status(old.status)}]--
		}
		counts[countKey{s.Tenant, s.Algorithm, s.Status}]++
	}
	if err := addCounts(tx, counts); err != nil {
		return err
	}
	for k, v := range map[string]string{"store": strconv.FormatUint(cur.Store, 10), "queue": strconv.FormatUint(cur.Queue, 10),
		"history": strconv.FormatUint(cur.History, 10), "origin": cur.Origin} {
		if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// callbackField marks the records of jobs with a completion callback.
var callbackField = []byte(`"callback":{`)

// owesCallback reports whether the job of record is final and its
// callback not delivered yet.
func owesCallback(status conveyor.Status, record []byte) bool {
	if !status.Terminal() || !bytes.Contains(record, callbackField) {
		return false
	}
	var j struct {
		Callback *conveyor.Callback `json:"callback"`
	}
	return json.Unmarshal(record, &j) == nil && j.Callback.Pending()
}

func deleteJob(tx *sql.Tx, id string) error {
	if _, err := tx.Exec(`DELETE FROM jobs WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM labels WHERE id = ?`, id)
	return err
}

func addCounts(tx *sql.Tx, counts map[countKey]int) error {
	for k, d := range counts {
		if d == 0 {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO counts (tenant, algorithm, status, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, algorithm, status) DO UPDATE SET n = n + excluded.n`, k.tenant, k.algorithm, string(k.status), d); err != nil {
			return err
		}
	}
	_, err := tx.Exec(`DELETE FROM counts WHERE n <= 0`)
	return err
}

// Expire removes the jobs last written before cutoff: the store has
// expired them. It returns how many it removed.
func (x *Index) Expire(ctx context.Context, cutoff time.Time) (int, error) {
	// Serialised with commits by the single writer connection.
	tx, err := x.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("job index: %w", err)
	}
	defer tx.Rollback()
	// A job last written before cutoff was made before it: its id is
	// below the cutoff's, which the primary key finds without an index
	// of its own.
	ms, below := cutoff.UnixMilli(), idAt(cutoff)
	rows, err := tx.Query(`SELECT tenant, algorithm, status, count(*) FROM jobs WHERE id < ? AND updated < ? GROUP BY 1, 2, 3`, below, ms)
	if err != nil {
		return 0, fmt.Errorf("job index: expire: %w", err)
	}
	counts := map[countKey]int{}
	n := 0
	for rows.Next() {
		var k countKey
		var st string
		var c int
		if err := rows.Scan(&k.tenant, &k.algorithm, &st, &c); err != nil {
			rows.Close()
			return 0, fmt.Errorf("job index: expire: %w", err)
		}
		k.status = conveyor.Status(st)
		counts[k] -= c
		n += c
	}
	rows.Close()
	if n == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(`DELETE FROM labels WHERE id IN (SELECT id FROM jobs WHERE id < ? AND updated < ?)`, below, ms); err != nil {
		return 0, fmt.Errorf("job index: expire: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM jobs WHERE id < ? AND updated < ?`, below, ms); err != nil {
		return 0, fmt.Errorf("job index: expire: %w", err)
	}
	if err := addCounts(tx, counts); err != nil {
		return 0, fmt.Errorf("job index: expire: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("job index: expire: %w", err)
	}
	return n, nil
}
