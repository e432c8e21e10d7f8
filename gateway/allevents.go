package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// maxFinalsRemembered bounds how many jobs that turned final an event
// stream of all jobs remembers, to drop what arrives about them later (a
// callback's writes, a queue message read after the record).
const maxFinalsRemembered = 4096

// handleAllEvents is GET /v1/events?algorithm=…: the status changes of all
// jobs (of one algorithm) as Server-Sent Events, for dashboards: a "job"
// event with {"id", "algorithm", "status"} per change, in the order they
// were stored.
//
// Every event's id is "<job store revision>.<queue sequence>.<history
// sequence>": where the stream stood in the job store, in the queue (jobs
// only their queue message holds are queued there) and in the history
// (finished jobs' records move there). A client that reconnects with
// Last-Event-ID gets every job that changed since, with its status as it
// is now: a job that went through several statuses while the client was
// away comes once, with the last. The stream opens with an id, before any
// event, so that a client can resume from its start.
func (g *Gateway) handleAllEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	algorithm := r.URL.Query().Get("algorithm")
	tenant, allTenants := tenantOf(ctx)
	rev, seq, hist := parseEventID3(r.Header.Get("Last-Event-ID"))
	if rev == 0 && seq == 0 && hist == 0 {
		var err error
		if rev, seq, hist, err = g.b.ChangeHeads(ctx); err != nil {
			g.writeError(w, r, err)
			return
		}
	}
	ch := make(chan change, 64)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobsDone, err := g.b.Watch(ctx, broker.JobsBucket, broker.WatchConfig{From: rev}, func(e broker.Entry) {
		if e.Removed {
			return
		}
		select {
		case ch <- change{data: e.Value, rev: e.Revision}:
		case <-ctx.Done():
		}
	})
	if err != nil {
		g.writeError(w, r, &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: "follow the jobs: the broker is unavailable", Err: err})
		return
	}
	defer func() { cancel(); <-jobsDone }()
	_, queueDone, err := g.b.FollowQueue(ctx, seq, func(m broker.QueuedMsg) {
		if m.Data == nil || !g.jobs.has(m.ID) && g.disk.Final(ctx, m.ID) {
			return // the job has a record: its changes come from the store or the history
		}
		select {
		case ch <- change{data: m.Data, seq: m.Seq}:
		case <-ctx.Done():
		}
	})
	if err != nil {
		g.writeError(w, r, &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: "follow the queue: the broker is unavailable", Err: err})
		return
	}
	// A finished job's final record may have left the store for the
	// history (see archive.go) by the time the stream reads the store.
	sinceRev := rev
	_, historyDone, err := g.b.FollowHistory(ctx, hist, func(m broker.Archived) {
		if m.Rev != 0 && m.Rev <= sinceRev || m.Deleted {
			return // the stream was past this record in the store: seen; or a deletion, no status change
		}
		select {
		case ch <- change{data: m.Data, hist: m.Seq}:
		case <-ctx.Done():
		}
	})
	if err != nil {
		cancel()
		<-queueDone
		g.writeError(w, r, &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: "follow the history: the broker is unavailable", Err: err})
		return
	}
	defer func() { cancel(); <-queueDone; <-historyDone }()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w), rev: rev, seq: seq, hist: hist, withHist: true}
	s.comment("jobs")
	s.mark()
	// marked is where the last id sent stood. Changes the stream passes
	// over move it on without an id, until the next keep-alive carries one:
	// a client that resumes from an older id reads them again.
	marked := s.id()
	f := newStatusFilter()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for s.flush(); s.err == nil; s.flush() {
		var c change
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.comment("keep-alive")
			if s.id() != marked {
				s.mark()
				marked = s.id()
			}
			continue
		case c = <-ch:
		}
		s.rev, s.seq, s.hist = max(s.rev, c.rev), max(s.seq, c.seq), max(s.hist, c.hist)
		sum, ok := f.pass(c)
		if ok && (algorithm == "" || sum.Algorithm == algorithm) && (allTenants || sum.Tenant == tenant) {
			data, _ := json.Marshal(jobChange{ID: sum.ID, Algorithm: sum.Algorithm, Status: sum.Status})
			s.send("job", data)
			marked = s.id()
		}
	}
}

// change is a version of a job record: from the store at revision rev,
// from the queue message at seq, or from the history at hist.
type change struct {
	data           []byte
	rev, seq, hist uint64
}

// jobChange is the data of a "job" event.
type jobChange struct {
	ID        string          `json:"id"`
	Algorithm string          `json:"algorithm"`
	Status    conveyor.Status `json:"status"`
}

// jobSummary is what an event stream of all jobs reads of a record.
type jobSummary struct {
	ID        string          `json:"id"`
	Algorithm string          `json:"algorithm"`
	Status    conveyor.Status `json:"status"`
	Tenant    string          `json:"tenant"`
}

// statusFilter passes the versions of job records that change a job's
// status, as one event stream has seen them: a queue message is a job's
// first version, so it passes only for a job not seen yet; a record passes
// when its status differs from the last one passed; nothing passes about a
// job once it was final. It keeps the jobs not final, and the last
// maxFinalsRemembered that turned final.
type statusFilter struct {
	status map[string]conveyor.Status
	finals map[string]struct{}
	ring   []string
	next   int
}

func newStatusFilter() *statusFilter {
	return &statusFilter{status: map[string]conveyor.Status{}, finals: map[string]struct{}{}, ring: make([]string, maxFinalsRemembered)}
}

func (f *statusFilter) pass(c change) (jobSummary, bool) {
	var s jobSummary
	if json.Unmarshal(c.data, &s) != nil || s.ID == "" {
		return s, false
	}
	if _, final := f.finals[s.ID]; final {
		return s, false
	}
	last, seen := f.status[s.ID]
	if seen && (c.rev == 0 && c.hist == 0 || last == s.Status) {
		return s, false
	}
	if !s.Status.Terminal() {
		f.status[s.ID] = s.Status
		return s, true
	}
	delete(f.status, s.ID)
	if old := f.ring[f.next]; old != "" {
		delete(f.finals, old)
	}
	f.ring[f.next] = s.ID
	f.next = (f.next + 1) % len(f.ring)
	f.finals[s.ID] = struct{}{}
	return s, true
}

// mark sends the stream's position as an id without an event (a browser's
// EventSource keeps it as its last event id, and dispatches nothing): a
// client that resumes from it misses nothing the stream had read.
func (s *sse) mark() {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, "id: %s\n\n", s.id())
	}
}
