package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/jsonscan"
	"github.com/conveyor-run/conveyor/jobindex"
)

// handleGet is GET /v1/jobs/{id}, with ?wait= to long-poll until the job
// is final.
func (g *Gateway) handleGet(rw http.ResponseWriter, r *http.Request) {
	wait, err := g.waitParam(r)
	if err != nil {
		g.writeError(rw, r, err)
		return
	}
	id := r.PathValue("id")
	var w *waiter
	if wait > 0 {
		var stop func()
		w, stop = g.jobs.waitTerminal(id)
		defer stop()
	}
	rec, err := g.read(r.Context(), id)
	if wait > 0 && conveyor.ErrorCode(err) == conveyor.EUNAVAILABLE {
		// A client that waits for the job waits through a moment the
		// broker cannot serve it, too.
		deadline := time.Now().Add(wait)
		for conveyor.ErrorCode(err) == conveyor.EUNAVAILABLE && time.Now().Before(deadline) {
			select {
			case <-time.After(250 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			rec, err = g.read(r.Context(), id)
		}
	}
	if err != nil {
		g.writeError(rw, r, err)
		return
	}
	if wait > 0 {
		rec = g.awaitOn(r.Context(), rec, w, wait)
	}
	g.writeRecord(rw, r, http.StatusOK, rec)
}

// handleList is GET /v1/jobs: job summaries from the job index, newest
// first, filtered, a page at a time (see listQuery).
func (g *Gateway) handleList(w http.ResponseWriter, r *http.Request) {
	lq, err := parseList(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	// This gateway's own changes so far are in the list it answers.
	if err := g.disk.Sync(r.Context()); err != nil {
		g.writeError(w, r, indexUnavailable(err))
		return
	}
	lq.filter.UpdatedAfter = time.Now().Add(-g.b.Config().Retention)
	jobs, next, err := g.disk.List(r.Context(), lq.filter, lq.page)
	if err != nil {
		g.writeError(w, r, indexUnavailable(err))
		return
	}
	if lq.input || lq.output {
		g.writeWithPayloads(w, r, jobs, next, lq.input, lq.output)
		return
	}
	// The shape of conveyor.JobPage, with the summaries passed on as the
	// index holds them.
	list := struct {
		Jobs       []json.RawMessage `json:"jobs"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}{Jobs: make([]json.RawMessage, 0, len(jobs)), NextCursor: next}
	for _, j := range jobs {
		list.Jobs = append(list.Jobs, j.JSON)
	}
	writeJSON(w, http.StatusOK, list)
}

// writeWithPayloads answers a list that includes the jobs' inputs or
// outputs, in the shape of conveyor.JobPage: each summary as the index
// holds it, with the payloads asked for added from the job's record — or
// streamed from the object store, for one kept there — a job at a time,
// so that a page of large payloads is never held whole. The records
// (small) are read first, so that a broker that fails is an error answer.
func (g *Gateway) writeWithPayloads(w http.ResponseWriter, r *http.Request, jobs []jobindex.Summary, next string, input, output bool) {
	ctx := r.Context()
	records := make([][]byte, len(jobs))
	for i, j := range jobs {
		data, _, err := g.record(ctx, j.ID)
		if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			continue // expired since the index saw it
		}
		if err != nil {
			g.writeError(w, r, err)
			return
		}
		records[i] = data
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"jobs":[`)
	n := 0
	for i, j := range jobs {
		sum := bytes.TrimSpace(j.JSON)
		if records[i] == nil || len(sum) < 2 {
			continue
		}
		if n++; n > 1 {
			_, _ = io.WriteString(w, ",")
		}
		// The summary's payloads are its last members (JobSummary).
		_, _ = w.Write(sum[:len(sum)-1])
		for _, p := range []struct {
			key  string
			want bool
		}{{"input", input}, {"output", output}} {
			if !p.want {
				continue
			}
			if err := g.writePayloadMember(ctx, w, records[i], p.key); err != nil {
				g.log.Warn("list: write a job's payload", "job_id", j.ID, "err", err)
				return // the answer is cut short
			}
		}
		_, _ = io.WriteString(w, "}")
	}
	_, _ = io.WriteString(w, "]")
	if next != "" {
		cursor, _ := json.Marshal(next)
		_, _ = fmt.Fprintf(w, `,"next_cursor":%s`, cursor)
	}
	_, _ = io.WriteString(w, "}\n")
}

// writePayloadMember writes the member key (input or output) of the job
// record data to w, after a comma: its value as the record holds it, or,
// for one kept in the object store (key_ref), streamed from there — null
// when its file is gone. An output the record has none of is not written.
func (g *Gateway) writePayloadMember(ctx context.Context, w io.Writer, data []byte, key string) error {
	if start, end, ok := jsonscan.Find(data, key+"_ref"); ok {
		var ref conveyor.PayloadRef
		if err := json.Unmarshal(data[start:end], &ref); err != nil {
			return err
		}
		rc, err := g.b.ReadFile(ctx, ref.File, 0)
		if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			_, err = io.WriteString(w, `,"`+key+`":null`)
			return err
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := io.WriteString(w, `,"`+key+`":`); err != nil {
			return err
		}
		_, err = io.Copy(w, rc)
		return err
	}
	start, end, ok := jsonscan.Find(data, key)
	if !ok {
		return nil
	}
	if _, err := io.WriteString(w, `,"`+key+`":`); err != nil {
		return err
	}
	_, err := w.Write(data[start:end])
	return err
}

// indexUnavailable is the error of a request the job index failed.
func indexUnavailable(err error) error {
	if _, ok := err.(*conveyor.Error); ok || errors.Is(err, context.Canceled) {
		return err
	}
	return &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: "the job index is unavailable", Err: err}
}

// handleLogs is GET /v1/jobs/{id}/logs; with ?follow=true it streams them
// (followLogs).
func (g *Gateway) handleLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.URL.Query().Get("follow") == "true" {
		// A follow is a stream, and counts as one against the client's
		// limit.
		g.limitStreams(func(w http.ResponseWriter, r *http.Request) { g.followLogs(w, r, id) })(w, r)
		return
	}
	if _, err := g.read(r.Context(), id); err != nil {
		g.writeError(w, r, err)
		return
	}
	lines, err := g.b.ReadLogs(r.Context(), id)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if lines == nil {
		lines = []conveyor.LogLine{}
	}
	writeJSON(w, http.StatusOK, conveyor.LogList{Logs: lines})
}

// handleCancel is POST /v1/jobs/{id}/cancel. A queued job is canceled in
// place; a running job's runner is told to stop its work at once.
func (g *Gateway) handleCancel(w http.ResponseWriter, r *http.Request) {
	j, err := g.cancelJob(context.WithoutCancel(r.Context()), r.PathValue("id"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	g.writeJob(w, r, http.StatusOK, j)
}

// cancelJob cancels job id and returns it as canceled. It returns
// ENOTFOUND for an unknown job or another tenant's, ECONFLICT for a final
// one, and EUNAVAILABLE when the broker fails.
func (g *Gateway) cancelJob(ctx context.Context, id string) (*conveyor.Job, error) {
	// One read: the stored record, or, for a job only its queue message
	// holds, that message's (revision 0) — the cancel then creates its
	// record, unless its runner did first, when the compare-and-swap
	// fails and UpdateJob cancels the record it finds.
	data, rev, err := g.record(ctx, id)
	if err == nil {
		err = visible(ctx, newRecord(data)) // absent, or another tenant's
	}
	if err != nil {
		return nil, err
	}
	seq := g.jobs.queuedSeq(id) // before the cancel stores the job
	var read conveyor.Job
	if err := json.Unmarshal(data, &read); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var was conveyor.Status
	j, _, err := g.b.UpdateJob(ctx, id, &read, rev, func(j *conveyor.Job) error {
		was = j.Status
		return j.Cancel(now)
	})
	if err != nil {
		return nil, err
	}
	if was == conveyor.StatusScheduled {
		// It never runs: should its time come before the schedule is
		// gone, its runner finds it canceled.
		if err := g.b.Unschedule(ctx, id); err != nil {
			g.log.Warn("remove the canceled job's schedule", "job_id", id, "algorithm", j.Algorithm, "err", err)
		}
	}
	if rev == 0 && seq != 0 {
		if err := g.b.DeleteQueued(ctx, seq); err != nil {
			g.log.Warn("delete the canceled job's queue message", "job_id", id, "algorithm", j.Algorithm, "err", err)
		}
	}
	// The record lives a retention from now: so must its payloads.
	broker.KeepPayloads(ctx, g.b, broker.Payloads(j), now.Add(g.b.Config().Retention))
	g.cfg.Metrics.Finished.WithLabelValues(j.Algorithm, string(conveyor.StatusCanceled)).Inc()
	if err := g.b.AnnounceCancel(id); err != nil {
		// The runner notices at its next heartbeat instead.
		g.log.Warn("announce cancel", "job_id", id, "algorithm", j.Algorithm, "err", err)
	}
	return j, nil
}

// waitParam reads ?wait=, capped at the configured maximum.
func (g *Gateway) waitParam(r *http.Request) (time.Duration, error) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return 0, nil
	}
	var d conveyor.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		return 0, conveyor.Errorf(conveyor.EINVALID, "wait: %v", err)
	}
	return min(d.Std(), g.cfg.MaxWait), nil
}

// await waits up to wait for job id to finish and returns its latest record.
func (g *Gateway) await(ctx context.Context, rec record, wait time.Duration) record {
	w, stop := g.jobs.waitTerminal(rec.id)
	defer stop()
	if latest, err := g.read(ctx, rec.id); err == nil {
		rec = latest
	}
	return g.awaitOn(ctx, rec, w, wait)
}

// awaitOn waits until the index sees the job become final (w is done),
// wait passes or the client leaves, and returns the job's latest record:
// the final one the watch delivered, or a fresh read after a timeout.
func (g *Gateway) awaitOn(ctx context.Context, rec record, w *waiter, wait time.Duration) record {
	if rec.status.Terminal() {
		return rec
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.done:
		return newRecord(w.job)
	case <-t.C:
	case <-ctx.Done():
		return rec
	}
	if latest, err := g.read(context.WithoutCancel(ctx), rec.id); err == nil {
		return latest
	}
	return rec
}
