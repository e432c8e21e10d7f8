package jobindex

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// record returns the JSON record of a job made i seconds after t0.
func record(t testing.TB, i int, status conveyor.Status, mod func(*conveyor.Job)) (string, []byte) {
	t.Helper()
	at := t0.Add(time.Duration(i) * time.Second)
	id := ulid.MustNew(ulid.Timestamp(at), ulid.DefaultEntropy()).String()
	j := conveyor.Job{ID: id, Algorithm: "is_prime", Status: status, Input: json.RawMessage(`{"n":7}`),
		Attempt: 1, MaxAttempts: 3, Priority: conveyor.PriorityNormal, CreatedAt: at}
	if status.Terminal() {
		st, fin := at.Add(time.Millisecond), at.Add(1500*time.Millisecond)
		j.StartedAt, j.FinishedAt = &st, &fin
		j.Output = json.RawMessage(`{"prime":true}`)
	}
	if mod != nil {
		mod(&j)
	}
	data, err := json.Marshal(&j)
	if err != nil {
		t.Fatal(err)
	}
	return id, data
}

func open(t testing.TB, dir string) *Index {
	t.Helper()
	x, err := Open(dir, Options{FlushEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func ids(t testing.TB, x *Index, f Filter, p Page) ([]string, string) {
	t.Helper()
	got, next, err := x.List(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range got {
		out = append(out, s.ID)
	}
	return out, next
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	x := open(t, t.TempDir())
	var all []string
	for i := range 20 {
		status := conveyor.StatusSucceeded
		if i%4 == 0 {
			status = conveyor.StatusFailed
		}
		id, data := record(t, i, status, func(j *conveyor.Job) {
			j.Labels = map[string]string{"batch": fmt.Sprint(i % 2), "team": "ml"}
			if i == 5 {
				j.Tenant = "other"
			}
			if i == 7 {
				j.Algorithm = "sleep"
			}
		})
		all = append(all, id)
		x.Put(Change{ID: id, Record: data, Updated: time.Now(), StoreRev: uint64(i + 1)})
	}
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Newest first, paged.
	got, next := ids(t, x, Filter{}, Page{Limit: 5})
	if len(got) != 5 || got[0] != all[19] || next != got[4] {
		t.Fatalf("first page %v next %q", got, next)
	}
	seen := len(got)
	for next != "" {
		got, next = ids(t, x, Filter{}, Page{Limit: 5, Cursor: next})
		seen += len(got)
	}
	if seen != 19 { // one job is the other tenant's
		t.Fatalf("paged through %d jobs, want 19", seen)
	}
	// Paged through a label, either way.
	for _, oldest := range []bool{false, true} {
		seen, cursor := 0, ""
		for range 20 {
			got, next := ids(t, x, Filter{Labels: map[string]string{"batch": "1"}, Statuses: []conveyor.Status{conveyor.StatusSucceeded, conveyor.StatusFailed}}, Page{Limit: 2, Cursor: cursor, Oldest: oldest})
			seen += len(got)
			if cursor = next; cursor == "" {
				break
			}
		}
		if seen != 9 {
			t.Errorf("paged through label batch=1 (oldest %v): %d jobs, want 9", oldest, seen)
		}
	}
	got, _ = ids(t, x, Filter{}, Page{Limit: 2, Oldest: true})
	if got[0] != all[0] || got[1] != all[1] {
		t.Fatalf("oldest first: %v", got)
	}
	for _, c := range []struct {
		name string
		f    Filter
		want int
	}{
		{"status", Filter{Statuses: []conveyor.Status{conveyor.StatusFailed}}, 5},
		{"statuses", Filter{Statuses: []conveyor.Status{conveyor.StatusFailed, conveyor.StatusSucceeded}}, 19},
		{"label", Filter{Labels: map[string]string{"batch": "1"}}, 9},
		{"labels", Filter{Labels: map[string]string{"batch": "1", "team": "ml"}}, 9},
		{"label no match", Filter{Labels: map[string]string{"batch": "2"}}, 0},
		{"algorithm", Filter{Algorithm: "sleep"}, 1},
		{"tenant", Filter{Tenant: "other"}, 1},
		{"all tenants", Filter{AllTenants: true}, 20},
		{"created after", Filter{CreatedAfter: t0.Add(10 * time.Second)}, 10},
		{"created before", Filter{CreatedBefore: t0.Add(10 * time.Second)}, 9},
		{"window", Filter{CreatedAfter: t0.Add(4 * time.Second), CreatedBefore: t0.Add(8 * time.Second)}, 3},
		{"id prefix", Filter{IDPrefix: all[3][:20]}, 1},
	} {
		got, _ := ids(t, x, c.f, Page{Limit: 100})
		if len(got) != c.want {
			t.Errorf("%s: %d jobs, want %d", c.name, len(got), c.want)
		}
	}
	counts, err := x.Counts(ctx, "", false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if counts["is_prime"][conveyor.StatusFailed] != 5 || counts["is_prime"][conveyor.StatusSucceeded] != 13 || counts["sleep"][conveyor.StatusSucceeded] != 1 {
		t.Fatalf("counts %v", counts)
	}
	since, err := x.Counts(ctx, "", true, t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n := since["is_prime"][conveyor.StatusFailed] + since["is_prime"][conveyor.StatusSucceeded]; n != 10 {
		t.Fatalf("counts since: %v", since)
	}
}

func TestSummaryHoldsNoPayload(t *testing.T) {
	x := open(t, t.TempDir())
	id, data := record(t, 0, conveyor.StatusFailed, func(j *conveyor.Job) {
		j.Input = json.RawMessage(`{"big":"` + string(make([]byte, 0)) + `xxxxxxxx"}`)
		j.Error = &conveyor.JobError{Type: "error", Message: "boom", Detail: "a long stderr tail"}
	})
	x.Put(Change{ID: id, Record: data, Updated: time.Now()})
	if err := x.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _, err := x.List(context.Background(), Filter{}, Page{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	var s map[string]any
	if err := json.Unmarshal(got[0].JSON, &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s["input"]; ok {
		t.Errorf("summary has the input: %s", got[0].JSON)
	}
	if _, ok := s["output"]; ok {
		t.Errorf("summary has the output: %s", got[0].JSON)
	}
	if e := s["error"].(map[string]any); e["detail"] != nil || e["message"] != "boom" {
		t.Errorf("summary's error: %v", e)
	}
	if s["duration"] != "1.499s" {
		t.Errorf("duration %v, want 1.499s", s["duration"])
	}
}

// TestFirstNeverReplaces: a job's queue message, read after its record,
// does not take the index back to its first version.
func TestFirstNeverReplaces(t *testing.T) {
	ctx := context.Background()
	x := open(t, t.TempDir())
	id, final := record(t, 0, conveyor.StatusSucceeded, nil)
	_, first := record(t, 0, conveyor.StatusQueued, func(j *conveyor.Job) { j.ID = id })
	x.Put(Change{ID: id, Record: final, Updated: time.Now()})
	x.Put(Change{ID: id, Record: first, First: true, Seq: 9})
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	x.Put(Change{ID: id, Record: first, First: true, Seq: 9})
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, _ := x.List(ctx, Filter{}, Page{Limit: 1})
	if s, _ := conveyor.Summarize(got[0].JSON); s.Status != conveyor.StatusSucceeded {
		t.Fatalf("status %s after the queue message", s.Status)
	}
	counts, _ := x.Counts(ctx, "", false, time.Time{})
	if counts["is_prime"][conveyor.StatusSucceeded] != 1 || counts["is_prime"][conveyor.StatusQueued] != 0 {
		t.Fatalf("counts %v", counts)
	}
}

// TestRemovedThenFirst: a removal, then the job's first version, queued
// for one commit, leave the index holding that version with its labels,
// as two commits would; a later change of it finds it there.
func TestRemovedThenFirst(t *testing.T) {
	ctx := context.Background()
	x, err := Open(t.TempDir(), Options{FlushEvery: time.Hour}) // commits at Sync only
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	labelled := func(j *conveyor.Job) { j.Labels = map[string]string{"team": "ml"} }
	id, first := record(t, 0, conveyor.StatusQueued, labelled)
	_, final := record(t, 0, conveyor.StatusSucceeded, func(j *conveyor.Job) { j.ID = id; labelled(j) })
	x.Put(Change{ID: id, StoreRev: 3})
	x.Put(Change{ID: id, Record: first, Status: conveyor.StatusQueued, First: true, Seq: 4, QueueSeq: 4})
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	x.Put(Change{ID: id, Record: final, Status: conveyor.StatusSucceeded, Prev: conveyor.StatusQueued, Updated: time.Now(), Archived: 2, HistorySeq: 2})
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := ids(t, x, Filter{Labels: map[string]string{"team": "ml"}}, Page{Limit: 5}); len(got) != 1 || got[0] != id {
		t.Fatalf("by label: %v, want [%s]", got, id)
	}
	counts, _ := x.Counts(ctx, "", false, time.Time{})
	if counts["is_prime"][conveyor.StatusSucceeded] != 1 || counts["is_prime"][conveyor.StatusQueued] != 0 {
		t.Fatalf("counts %v", counts)
	}
}

// TestReopenResumes: the cursor and the rows survive a close, and an
// unreadable file is moved aside and the index made anew.
func TestReopenResumes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !x.Fresh() {
		t.Error("a new index is not fresh")
	}
	if err := x.Reset(ctx, "origin-1"); err != nil {
		t.Fatal(err)
	}
	id, data := record(t, 0, conveyor.StatusQueued, nil)
	x.Put(Change{ID: id, Record: data, Updated: time.Now(), StoreRev: 41, QueueSeq: 7})
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("a second Open of one index succeeded")
	}
	x.Close()

	x = open(t, dir)
	if x.Fresh() {
		t.Error("a reopened index is fresh")
	}
	if c := x.Cursor(); c != (Cursor{Store: 41, Queue: 7, Origin: "origin-1"}) {
		t.Fatalf("cursor after reopening: %+v", c)
	}
	n := 0
	err = x.Live(ctx, func(s *conveyor.JobSummary, seq uint64, _ time.Time) error {
		n++
		if s.ID != id {
			t.Errorf("live job %s, want %s", s.ID, id)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("live: %d jobs, %v", n, err)
	}
	x.Close()

	// Garbage where the database was.
	path := filepath.Join(dir, FileName)
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := os.WriteFile(path, []byte("this is not a database, just text that fills a page or so of the file......"), 0o600); err != nil {
		t.Fatal(err)
	}
	x = open(t, dir)
	if !x.Fresh() {
		t.Error("an index made anew is not fresh")
	}
	if c := x.Cursor(); c != (Cursor{}) {
		t.Errorf("cursor of a new index: %+v", c)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) == 0 {
		t.Error("the corrupt file was not kept aside")
	}
}

func TestExpire(t *testing.T) {
	ctx := context.Background()
	x := open(t, t.TempDir())
	for i := range 10 {
		id, data := record(t, i, conveyor.StatusSucceeded, func(j *conveyor.Job) { j.Labels = map[string]string{"k": "v"} })
		x.Put(Change{ID: id, Record: data, Updated: t0.Add(time.Duration(i) * time.Hour)})
	}
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := x.Expire(ctx, t0.Add(5*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("expired %d, %v", n, err)
	}
	got, _ := ids(t, x, Filter{Labels: map[string]string{"k": "v"}}, Page{Limit: 100})
	counts, _ := x.Counts(ctx, "", false, time.Time{})
	if len(got) != 5 || counts["is_prime"][conveyor.StatusSucceeded] != 5 {
		t.Fatalf("after expiry: %d jobs, counts %v", len(got), counts)
	}
}

// BenchmarkCommit measures the index's write path as the gateway's feeds
// use it: a job's first version, then its final one.
func BenchmarkCommit(b *testing.B) {
	x := open(b, b.TempDir())
	_, data := record(b, 0, conveyor.StatusSucceeded, func(j *conveyor.Job) { j.Labels = map[string]string{"batch": "1"} })
	var j conveyor.Job
	json.Unmarshal(data, &j)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		j.ID = ulid.Make().String()
		j.Status = conveyor.StatusQueued
		rec, _ := json.Marshal(&j)
		x.Put(Change{ID: j.ID, Record: rec, Status: j.Status, Updated: time.Now(), First: true})
		j.Status = conveyor.StatusSucceeded
		rec, _ = json.Marshal(&j)
		x.Put(Change{ID: j.ID, Record: rec, Status: j.Status, Prev: conveyor.StatusQueued, Updated: time.Now(), StoreRev: uint64(i)})
	}
	if err := x.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkList measures the lists a search makes, over an index of
// CONVEYOR_BENCH_JOBS jobs (default 200,000): a tenth of them in each
// batch label, a fifth failed.
func BenchmarkList(b *testing.B) {
	n := 200_000
	if s := os.Getenv("CONVEYOR_BENCH_JOBS"); s != "" {
		fmt.Sscan(s, &n)
	}
	x := open(b, b.TempDir())
	for i := range n {
		status := conveyor.StatusSucceeded
		if i%5 == 0 {
			status = conveyor.StatusFailed
		}
		id, data := record(b, i, status, func(j *conveyor.Job) { j.Labels = map[string]string{"batch": fmt.Sprint(i / 1000 % 10)} })
		x.Put(Change{ID: id, Record: data, Status: status, Updated: time.Now()})
	}
	if err := x.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    Filter
	}{
		{"all", Filter{}},
		{"status", Filter{Statuses: []conveyor.Status{conveyor.StatusFailed}}},
		{"label", Filter{Labels: map[string]string{"batch": "7"}}},
		{"label+status", Filter{Labels: map[string]string{"batch": "7"}, Statuses: []conveyor.Status{conveyor.StatusFailed}}},
		{"time", Filter{CreatedAfter: t0.Add(time.Duration(n/2) * time.Second), CreatedBefore: t0.Add(time.Duration(n/2+3600) * time.Second)}},
		{"algorithm+statuses", Filter{Algorithm: "is_prime", Statuses: []conveyor.Status{conveyor.StatusFailed, conveyor.StatusCanceled}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if got, _, err := x.List(ctx, c.f, Page{Limit: 50}); err != nil || len(got) == 0 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}

// BenchmarkCommitLifecycle measures the write path of jobs that outlive a
// commit, 1,000 at a time: each job's first version, its final one, then
// where it was archived, each in a commit of its own. One op is one job.
func BenchmarkCommitLifecycle(b *testing.B) {
	x := open(b, b.TempDir())
	_, data := record(b, 0, conveyor.StatusSucceeded, func(j *conveyor.Job) { j.Labels = map[string]string{"batch": "1"} })
	var tmpl conveyor.Job
	json.Unmarshal(data, &tmpl)
	const n = 1000
	jobs := make([]conveyor.Job, n)
	ctx := context.Background()
	b.ReportAllocs()
	rev, seq := uint64(0), uint64(0)
	for i := 0; i < b.N; i += n {
		for k := range jobs {
			jobs[k] = tmpl
			jobs[k].ID = ulid.Make().String()
			jobs[k].Status = conveyor.StatusQueued
			rec, _ := json.Marshal(&jobs[k])
			x.Put(Change{ID: jobs[k].ID, Record: rec, Status: conveyor.StatusQueued, Updated: time.Now(), First: true})
		}
		if err := x.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		for k := range jobs {
			jobs[k].Status = conveyor.StatusSucceeded
			rec, _ := json.Marshal(&jobs[k])
			rev++
			x.Put(Change{ID: jobs[k].ID, Record: rec, Status: conveyor.StatusSucceeded, Prev: conveyor.StatusQueued, Updated: time.Now(), StoreRev: rev})
		}
		if err := x.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		for k := range jobs {
			seq++
			x.Put(Change{ID: jobs[k].ID, Status: conveyor.StatusSucceeded, Archived: seq, HistorySeq: seq})
		}
		if err := x.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
