package jobindex

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
)

// Filter selects jobs. Its zero value selects every job of the tenant "".
type Filter struct {
	Algorithm string
	// Statuses, when any, are the statuses to match (any of them).
	Statuses []conveyor.Status
	// Labels must all match.
	Labels map[string]string
	// Tenant is the tenant whose jobs match, unless AllTenants.
	Tenant     string
	AllTenants bool
	// CreatedAfter and CreatedBefore, when not zero, bound the jobs'
	// creation times (after: inclusive; before: exclusive), to the
	// millisecond of their ids.
	CreatedAfter, CreatedBefore time.Time
	// IDPrefix matches the jobs whose id starts with it.
	IDPrefix string
	// UpdatedAfter, when not zero, keeps only the jobs last written at or
	// after it: the store has expired the others, which Expire removes
	// from the index only from time to time.
	UpdatedAfter time.Time
}

// Page asks for a page of a list.
type Page struct {
	// Cursor is the NextCursor of the previous page; "" for the first.
	Cursor string
	// Oldest lists oldest first instead of newest first.
	Oldest bool
	// Limit is the most jobs on the page (at least 1).
	Limit int
}

// Summary is one job of a list: its summary's JSON and its queue message.
type Summary struct {
	ID   string
	JSON json.RawMessage
	// Seq is the queue message that alone holds the job (0 once stored).
	Seq uint64
}

// List returns a page of the jobs that match f, newest first (or oldest),
// and the cursor of the next page ("" after the last). It sees what the
// index has committed: Sync first to see every change Put.
func (x *Index) List(ctx context.Context, f Filter, p Page) ([]Summary, string, error) {
	from, args := f.from()
	where, wargs := f.where()
	args = append(args, wargs...)
	// Ordered by the driving table's id: the labels' when a label drives.
	key := "jobs.id"
	if len(f.Labels) > 0 {
		key = "labels.id"
	}
	order := "DESC"
	if p.Cursor != "" {
		if p.Oldest {
			where = append(where, key+" > ?")
		} else {
			where = append(where, key+" < ?")
		}
		args = append(args, p.Cursor)
	}
	if p.Oldest {
		order = "ASC"
	}
	limit := max(p.Limit, 1)
	q := `SELECT jobs.id, summary, seq` + from + clause(where) + ` ORDER BY ` + key + ` ` + order + fmt.Sprintf(` LIMIT %d`, limit+1)
	rows, err := x.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("job index: list: %w", err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var s Summary
		var seq int64
		if err := rows.Scan(&s.ID, &s.JSON, &seq); err != nil {
			return nil, "", fmt.Errorf("job index: list: %w", err)
		}
		s.Seq = uint64(seq)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("job index: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

func clause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

func (f Filter) where() ([]string, []any) {
	var where []string
	var args []any
	if f.Algorithm != "" {
		where, args = append(where, "algorithm = ?"), append(args, f.Algorithm)
	}
	if len(f.Statuses) == 1 {
		where, args = append(where, "status = ?"), append(args, string(f.Statuses[0]))
	} else if len(f.Statuses) > 1 {
		marks := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "status IN ("+strings.Join(marks, ", ")+")")
	}
	if !f.AllTenants {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if !f.CreatedAfter.IsZero() {
		where, args = append(where, "jobs.id >= ?"), append(args, idAt(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "jobs.id < ?"), append(args, idAt(f.CreatedBefore))
	}
	if f.IDPrefix != "" {
		where, args = append(where, "jobs.id >= ? AND jobs.id < ?"), append(args, f.IDPrefix, f.IDPrefix+"\xff")
	}
	if !f.UpdatedAfter.IsZero() {
		where, args = append(where, "updated >= ?"), append(args, f.UpdatedAfter.UnixMilli())
	}
	for _, k := range slices.Sorted(maps.Keys(f.Labels))[min(1, len(f.Labels)):] {
		// The first label drives the query (see from); the others are
		// checked per job.
		where = append(where, "jobs.id IN (SELECT id FROM labels WHERE key = ? AND value = ?)")
		args = append(args, k, f.Labels[k])
	}
	return where, args
}

// from is the FROM clause of a query of f, and its arguments, which come
// before where's. With a label, the query walks that label's entries in
// id order and joins each to its job, so that a page of the newest jobs
// with a label costs a page of them, not a read of every job that has it.
func (f Filter) from() (string, []any) {
	if len(f.Labels) == 0 {
		return " FROM jobs", nil
	}
	k := slices.Sorted(maps.Keys(f.Labels))[0]
	return " FROM labels CROSS JOIN jobs ON jobs.id = labels.id AND labels.key = ? AND labels.value = ?", []any{k, f.Labels[k]}
}

// idAt returns the smallest job id made at t: ids are ULIDs, which sort
// by the millisecond they were made in.
func idAt(t time.Time) string {
	if t.Before(time.UnixMilli(0)) {
		t = time.UnixMilli(0)
	}
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(t))
	return u.String()
}

// Counts returns how many jobs of each algorithm are in each status, of
// tenant (or of every tenant). With since not zero it counts only the
// jobs created since then, which costs a scan of those; without, it reads
// the counts the index keeps.
func (x *Index) Counts(ctx context.Context, tenant string, allTenants bool, since time.Time) (map[string]map[conveyor.Status]int, error) {
	var q string
	var args []any
	if since.IsZero() {
		q = `SELECT algorithm, status, sum(n) FROM counts`
		if !allTenants {
			q += ` WHERE tenant = ?`
			args = append(args, tenant)
		}
	} else {
		where, a := Filter{Tenant: tenant, AllTenants: allTenants, CreatedAfter: since}.where()
		q, args = `SELECT algorithm, status, count(*) FROM jobs`+clause(where), a
	}
	q += ` GROUP BY 1, 2`
	rows, err := x.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("job index: counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[conveyor.Status]int{}
	for rows.Next() {
		var alg, st string
		var n int
		if err := rows.Scan(&alg, &st, &n); err != nil {
			return nil, fmt.Errorf("job index: counts: %w", err)
		}
		m := out[alg]
		if m == nil {
			m = map[conveyor.Status]int{}
			out[alg] = m
		}
		m[conveyor.Status(st)] += n
	}
	return out, rows.Err()
}

// Has reports whether the index knows the job with id, committed or
// queued. An error reading the index reports false.
func (x *Index) Has(ctx context.Context, id string) bool {
	c, pending := x.queued(id)
	if pending {
		return c.Record != nil
	}
	_, _, ok := x.point(ctx, id)
	return ok
}

// Final reports whether the index knows the job with id as final,
// committed or queued. An error reading the index reports false.
func (x *Index) Final(ctx context.Context, id string) bool {
	c, pending := x.queued(id)
	if pending {
		return c.Record != nil && c.Status.Terminal()
	}
	st, _, ok := x.point(ctx, id)
	return ok && st.Terminal()
}

// ArchivedAt returns the history message that holds the record of job
// id, or 0 when the index knows of none (the job is in the store, or
// unknown).
func (x *Index) ArchivedAt(ctx context.Context, id string) uint64 {
	c, pending := x.queued(id)
	if pending && c.Archived > 0 {
		return c.Archived
	}
	_, at, _ := x.point(ctx, id)
	return at
}

// Lookup returns what the index knows of job id, committed or queued: its
// status, the history message that holds its record (0: none), and
// whether it knows the job at all. An error reading the index reports an
// unknown job.
func (x *Index) Lookup(ctx context.Context, id string) (st conveyor.Status, archived uint64, known bool) {
	c, pending := x.queued(id)
	switch {
	case pending && c.Record == nil:
		return "", 0, false // removed
	case pending && c.Archived > 0:
		return c.Status, c.Archived, true
	}
	cst, at, ok := x.point(ctx, id)
	if pending {
		return c.Status, at, true
	}
	return cst, at, ok
}

// Owed returns the ids of the final jobs whose completion callback is not
// delivered yet, as of the last commit.
func (x *Index) Owed(ctx context.Context) ([]string, error) {
	rows, err := x.r.QueryContext(ctx, `SELECT id FROM jobs WHERE owes = 1`)
	if err != nil {
		return nil, fmt.Errorf("job index: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("job index: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Live calls fn with every committed job that is not final (queued or
// running), oldest first, and its last write; it stops at fn's first error
// and returns it.
func (x *Index) Live(ctx context.Context, fn func(s *conveyor.JobSummary, seq uint64, updated time.Time) error) error {
	var live []string
	for _, s := range statuses {
		if !s.Terminal() {
			live = append(live, string(s))
		}
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(live)), ", ")
	args := make([]any, len(live))
	for i, s := range live {
		args[i] = s
	}
	rows, err := x.r.QueryContext(ctx, `SELECT summary, seq, updated FROM jobs WHERE status IN (`+marks+`) ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("job index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		var seq, updated int64
		if err := rows.Scan(&data, &seq, &updated); err != nil {
			return fmt.Errorf("job index: %w", err)
		}
		var s conveyor.JobSummary
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("job index: %w", err)
		}
		if err := fn(&s, uint64(seq), time.UnixMilli(updated)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// point reads the committed status of job id and where it was archived;
// ok is false when the index has no such job (or cannot be read).
func (x *Index) point(ctx context.Context, id string) (st conveyor.Status, archived uint64, ok bool) {
	var s string
	var at int64
	if x.pointStmt.QueryRowContext(ctx, id).Scan(&s, &at) != nil {
		return "", 0, false
	}
	return conveyor.Status(s), uint64(at), true
}

// queued returns the change of job id waiting to be committed, if any.
func (x *Index) queued(id string) (Change, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.pending[id]
	if !ok {
		c, ok = x.inflight[id]
	}
	return c, ok
}
