package gateway

import (
	"encoding/json"
	"net/http"
	"time"
)

// followLogs answers GET /v1/jobs/{id}/logs?follow=true: the job's log
// lines as newline-delimited JSON (application/x-ndjson, one LogLine per
// line), the stored ones first, then each as it is stored; the response
// ends once the job is final and its last stored line is sent. For status
// and progress too, and resuming, use the event stream.
func (g *Gateway) followLogs(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	f, unfollow := g.jobs.follow(id) // before the read: no change is missed
	defer unfollow()
	rec, err := g.read(ctx, id)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	logs, stopLogs, err := g.b.FollowLogs(ctx, id, 0)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	defer stopLogs()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	var seq uint64
	var werr error
	write := func(evSeq uint64, line any) {
		if werr == nil && evSeq > seq {
			seq = evSeq
			werr = enc.Encode(line)
		}
	}
	final := rec.status.Terminal()
	for !final && werr == nil {
		werr = rc.Flush()
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-logs:
			if !ok {
				return
			}
			write(ev.Seq, ev.Line)
		case <-f.changed():
			if data, _ := f.latest(); data != nil {
				final = newRecord(data).status.Terminal()
			}
		}
	}
	// The runner stores an attempt's log lines before its outcome: send up
	// to the last one stored, then end.
	last, err := g.b.LastLogSeq(ctx, id)
	deadline := time.After(5 * time.Second)
	for err == nil && seq < last && werr == nil {
		select {
		case ev, ok := <-logs:
			if !ok {
				return
			}
			write(ev.Seq, ev.Line)
		case <-deadline:
			last = 0
		case <-ctx.Done():
			return
		}
	}
	_ = rc.Flush()
}
