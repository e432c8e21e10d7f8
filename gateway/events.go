package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// keepAlive is how often an idle event stream gets a comment line, so
// proxies and clients keep the connection: well under the idle timeouts
// proxies commonly have (30 s and up), and under a client's that counts
// a stream as dead after a few missed ones (the Python client's 60 s).
const keepAlive = 10 * time.Second

// handleEvents is GET /v1/jobs/{id}/events: the job as Server-Sent Events.
//
//	event: status    data: the job, at each change of its record
//	event: progress  data: {"percent", "message"}, when it changed
//	event: log       data: {"ts", "stream", "line", "attempt"}
//	event: end       data: the final job; then the stream closes
//
// Every event's id is "<record revision>.<log sequence>": a client that
// reconnects with Last-Event-ID gets the record if it changed since, and
// every log line after the last it saw. A finished job replays and ends.
//
// Log lines are never lost; the record (status, progress) is a state:
// the stream sends it as it is when it sees a change, so changes in quick
// succession or while a client was away arrive merged into the latest.
func (g *Gateway) handleEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := r.Context()
	lastRev, lastSeq := parseEventID(r.Header.Get("Last-Event-ID"))
	f, unfollow := g.jobs.follow(id) // before the first read: no change is missed
	defer unfollow()
	data, rev, err := g.record(ctx, id)
	if err == nil {
		err = visible(ctx, newRecord(data))
	}
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	logs, stopLogs, err := g.b.FollowLogs(ctx, id, lastSeq)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	defer stopLogs()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: rc, rev: lastRev, seq: lastSeq}

	var progress *conveyor.Progress
	// A client that has seen no event gets the job as it is now, even a
	// job only its queue message holds yet (revision 0).
	opening := lastRev == 0
	record := func(data []byte, rev uint64) (final bool) {
		var j conveyor.Job
		if json.Unmarshal(data, &j) != nil {
			return false
		}
		if rev > s.rev || opening {
			opening = false
			s.rev = rev
			s.sendRecord(ctx, g, data)
			if j.Progress != nil && (progress == nil || *progress != *j.Progress) {
				p, _ := json.Marshal(j.Progress)
				s.send("progress", p)
			}
		}
		progress = j.Progress
		return j.Status.Terminal()
	}
	final := record(data, rev)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for !final && s.err == nil {
		s.flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.comment("keep-alive")
		case ev, ok := <-logs:
			if !ok {
				return // the broker connection is gone; the client resumes
			}
			s.log(ev)
		case <-f.changed():
			if latest, lrev := f.latest(); lrev > s.rev {
				data, rev = latest, lrev
				final = record(data, rev)
			}
		}
	}
	if s.err != nil {
		return
	}
	// The runner stores an attempt's log lines before its outcome: read up
	// to the last one stored, then end.
	last, err := g.b.LastLogSeq(ctx, id)
	deadline := time.After(5 * time.Second)
	for err == nil && s.seq < last && s.err == nil {
		select {
		case ev, ok := <-logs:
			if !ok {
				return
			}
			s.log(ev)
		case <-deadline:
			last = 0
		case <-ctx.Done():
			return
		}
	}
	s.send("end", data)
	s.flush()
}

// parseEventID reads "<revision>.<sequence>"; anything else is a start
// from nothing.
func parseEventID(id string) (rev, seq uint64) {
	rev, seq, _ = parseEventID3(id)
	return rev, seq
}

// parseEventID3 reads "<revision>.<sequence>[.<history>]"; anything else
// is a start from nothing.
func parseEventID3(id string) (rev, seq, hist uint64) {
	parts := strings.Split(id, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0
	}
	var v [3]uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return 0, 0, 0
		}
		v[i] = n
	}
	return v[0], v[1], v[2]
}

// sse writes Server-Sent Events; the first write error sticks.
type sse struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	rev, seq uint64
	// hist, with withHist, is a third part of the ids: a position in the
	// history (see handleAllEvents).
	hist     uint64
	withHist bool
	err      error
}

// id is the stream's position as an event id.
func (s *sse) id() string {
	if s.withHist {
		return fmt.Sprintf("%d.%d.%d", s.rev, s.seq, s.hist)
	}
	return fmt.Sprintf("%d.%d", s.rev, s.seq)
}

func (s *sse) log(ev broker.LogEvent) {
	if ev.Seq <= s.seq {
		return
	}
	s.seq = ev.Seq
	data, _ := json.Marshal(ev.Line)
	s.send("log", data)
}

func (s *sse) send(event string, data []byte) {
	if s.err != nil {
		return
	}
	// JSON from encoding/json has no raw newlines, so data is one line.
	_, s.err = fmt.Fprintf(s.w, "id: %s\nevent: %s\ndata: %s\n\n", s.id(), event, data)
}

// sendRecord sends a status event with the job record data, as a client
// sees it (see writeRecord): its payloads are compact JSON too, one line.
func (s *sse) sendRecord(ctx context.Context, g *Gateway, data []byte) {
	if s.err != nil {
		return
	}
	if _, s.err = fmt.Fprintf(s.w, "id: %s\nevent: status\ndata: ", s.id()); s.err != nil {
		return
	}
	if s.err = g.writePayloaded(ctx, s.w, record{data: data}); s.err != nil {
		return
	}
	_, s.err = io.WriteString(s.w, "\n\n")
}

func (s *sse) comment(text string) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, ": %s\n\n", text)
	}
}

func (s *sse) flush() {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
}
