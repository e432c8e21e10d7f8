package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/jobindex"
)

// Bulk actions (POST /v1/jobs/retry, POST /v1/jobs/cancel) act on every
// job of the request's tenant that a filter matches, found in the job
// index a page at a time, newest first: jobs made while one runs (its
// own retries among them) are after its first page, and not acted on.

// bulkChunk is how many jobs a bulk action lists and acts on at a time:
// a batch's worth (conveyor.MaxBatch), through the batch's path.
const bulkChunk = conveyor.MaxBatch

// bulkReaders is how many records a bulk action reads, or jobs it
// cancels, at once.
const bulkReaders = 16

// jobFilter reads the body of a bulk action, a conveyor.JobFilter,
// strictly, into a filter of the request's tenant's jobs: for a retry
// (retry true) of final jobs, by default failed and canceled; for a
// cancel of unfinished ones, by default all. It returns an EINVALID
// error naming the field for an unknown field or a malformed value.
func (g *Gateway) jobFilter(w http.ResponseWriter, r *http.Request, retry bool) (jobindex.Filter, error) {
	var body struct {
		Algorithm     string            `json:"algorithm"`
		Status        json.RawMessage   `json:"status"`
		Labels        map[string]string `json:"labels"`
		CreatedAfter  string            `json:"created_after"`
		CreatedBefore string            `json:"created_before"`
	}
	var f jobindex.Filter
	if err := g.decodeBody(w, r, &body); err != nil {
		return f, err
	}
	bad := func(field, format string, args ...any) error {
		return conveyor.Errorf(conveyor.EINVALID, "field %s: "+format, append([]any{field}, args...)...)
	}
	if body.Algorithm != "" && conveyor.ValidateName(body.Algorithm) != nil {
		return f, bad("algorithm", "%q is not an algorithm name", body.Algorithm)
	}
	f.Algorithm = body.Algorithm
	// status: a list of statuses, or one as a string.
	var names []string
	if st := bytes.TrimSpace(body.Status); len(st) > 0 && !bytes.Equal(st, []byte("null")) {
		if st[0] == '"' {
			var one string
			if err := json.Unmarshal(st, &one); err != nil {
				return f, bad("status", "want a list of statuses")
			}
			names = []string{one}
		} else if err := json.Unmarshal(st, &names); err != nil {
			return f, bad("status", "want a list of statuses, e.g. [\"failed\"]")
		}
	}
	for _, name := range names {
		s, err := conveyor.ParseStatus(strings.TrimSpace(name))
		if err != nil {
			return f, bad("status", "%s", conveyor.ErrorMessage(err))
		}
		switch {
		case retry && !s.Terminal():
			return f, bad("status", "%s: only finished jobs (succeeded, failed, canceled) can be retried", s)
		case !retry && s.Terminal():
			return f, bad("status", "%s: only unfinished jobs can be canceled", s)
		}
		if !slices.Contains(f.Statuses, s) {
			f.Statuses = append(f.Statuses, s)
		}
	}
	if len(f.Statuses) == 0 {
		if retry {
			f.Statuses = []conveyor.Status{conveyor.StatusFailed, conveyor.StatusCanceled}
		} else {
			for _, s := range conveyor.Statuses {
				if !s.Terminal() {
					f.Statuses = append(f.Statuses, s)
				}
			}
		}
	}
	for k := range body.Labels {
		if k == "" {
			return f, bad("labels", "a label key is empty")
		}
	}
	if len(body.Labels) > 0 {
		f.Labels = body.Labels
	}
	for _, t := range []struct {
		name, v string
		to      *time.Time
	}{{"created_after", body.CreatedAfter, &f.CreatedAfter}, {"created_before", body.CreatedBefore, &f.CreatedBefore}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return f, bad(t.name, "%q is not an RFC 3339 time (e.g. 2026-12-05T10:00:00Z)", t.v)
		}
		*t.to = at
	}
	f.Tenant, f.AllTenants = tenantOf(r.Context())
	return f, nil
}

// eachMatch calls fn with the jobs that match f, bulkChunk at a time,
// newest first, until fn returns an error, which it returns.
func (g *Gateway) eachMatch(ctx context.Context, f jobindex.Filter, fn func([]jobindex.Summary) error) error {
	// This gateway's own changes so far are in what it lists.
	if err := g.disk.Sync(ctx); err != nil {
		return indexUnavailable(err)
	}
	f.UpdatedAfter = time.Now().Add(-g.b.Config().Retention)
	page := jobindex.Page{Limit: bulkChunk}
	for {
		jobs, next, err := g.disk.List(ctx, f, page)
		if err != nil {
			return indexUnavailable(err)
		}
		if len(jobs) > 0 {
			if err := fn(jobs); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		page.Cursor = next
	}
}

// records reads the records of jobs, bulkReaders at a time, in their
// order; nil for a job gone since it was listed (or unreadable).
func (g *Gateway) records(ctx context.Context, jobs []jobindex.Summary) [][]byte {
	out := make([][]byte, len(jobs))
	parallel(len(jobs), func(i int) {
		id := jobs[i].ID
		// An archived job's record is in the history: read it there
		// without asking the store first.
		if at := g.disk.ArchivedAt(ctx, id); at > 0 {
			if data, err := g.b.ArchivedRecord(ctx, id, at); err == nil {
				out[i] = data
				return
			}
		}
		if data, _, err := g.record(ctx, id); err == nil {
			out[i] = data
		}
	})
	return out
}

// parallel calls fn(i) for every i below n, bulkReaders at a time, and
// returns when all have returned.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, bulkReaders) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// handleCancelMatching is POST /v1/jobs/cancel: cancels every unfinished
// job that matches the filter in the body (a conveyor.JobFilter), as POST
// /v1/jobs/{id}/cancel would, and answers how many it canceled. A job
// that finished meanwhile is skipped. Should the broker fail midway, the
// jobs canceled so far stay canceled, and the error says how many.
func (g *Gateway) handleCancelMatching(w http.ResponseWriter, r *http.Request) {
	f, err := g.jobFilter(w, r, false)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	var n atomic.Int64
	err = g.eachMatch(ctx, f, func(page []jobindex.Summary) error {
		var mu sync.Mutex
		var failed error
		parallel(len(page), func(i int) {
			_, err := g.cancelJob(ctx, page[i].ID)
			switch conveyor.ErrorCode(err) {
			case "":
				n.Add(1)
			case conveyor.ECONFLICT, conveyor.ENOTFOUND:
				// finished or gone meanwhile
			default:
				mu.Lock()
				failed = err
				mu.Unlock()
			}
		})
		return failed
	})
	if err != nil {
		g.writeError(w, r, partly(err, "canceled", int(n.Load())))
		return
	}
	writeJSON(w, http.StatusOK, conveyor.Count{Count: int(n.Load())})
}
