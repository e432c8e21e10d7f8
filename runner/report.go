package runner

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// maxLogLine caps one log line; longer lines are cut with a marker.
const maxLogLine = 16 << 10

// Bounds of the log lines of one attempt published and not yet stored,
// each counted as its text and lineOverhead. Past maxInflight, Log waits
// until the broker has stored all but inflightAfter of them: a handler
// that logs faster than the broker stores runs at the broker's pace
// instead of its lines piling up in memory.
const (
	maxInflight   = 256 << 10
	inflightAfter = maxInflight / 2
)

// published is a log line published and maybe not yet stored.
type published struct {
	w    broker.LogWrite
	size int // as counted against maxInflight
}

// reporter is an attempt's conveyor.Reporter. Progress is only remembered
// here and written to the job record by the runner's ticker, so a handler
// reporting progress in a tight loop costs one record write per tick, and
// the last value is written with the outcome. Log lines are published
// asynchronously; flush waits until they are stored. The job's log is
// kept under maxLog bytes of text: past it, the oldest lines are purged
// (see logcap.go).
type reporter struct {
	b       brokerAPI
	id      string
	attempt int
	stage   *conveyor.Stage // of a pipeline job: progress is of the whole pipeline
	maxLog  int

	mu       sync.Mutex
	progress *conveyor.Progress
	dirty    bool
	flood    flood       // lines held back by the rate limit
	pending  []published // oldest first
	inflight int         // the sizes of pending
	dropped  int
	log      *logCap // nil until the first line
}

var _ conveyor.Reporter = (*reporter)(nil)

func newReporter(b brokerAPI, id string, attempt int, stage *conveyor.Stage, maxLog int) *reporter {
	if maxLog <= 0 {
		maxLog = broker.DefaultMaxLogBytes
	}
	return &reporter{b: b, id: id, attempt: attempt, stage: stage, maxLog: maxLog}
}

// Progress remembers the latest progress, clamped to 0–100.
func (r *reporter) Progress(percent float64, message string) {
	if percent != percent { // NaN
		percent = 0
	}
	percent = min(max(percent, 0), 100)
	if r.stage != nil {
		percent = r.stage.Percent(percent)
		if message == "" {
			message = r.stage.Name
		} else {
			message = r.stage.Name + ": " + message
		}
	}
	r.mu.Lock()
	r.progress = &conveyor.Progress{Percent: percent, Message: message}
	r.dirty = true
	r.mu.Unlock()
}

// Log publishes one line of the job's log, or holds it when the attempt
// logs faster than logRate (see logflood.go).
func (r *reporter) Log(stream, line string) {
	if len(line) > maxLogLine {
		cut := maxLogLine
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + " …(line truncated)"
	}
	l := conveyor.LogLine{Time: time.Now().UTC(), Stream: stream, Line: line, Attempt: r.attempt}
	// Lines are numbered and published under the lock, so that stream
	// order is number order.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.flood.admit(l) {
		r.publishLocked(l)
	}
	r.releaseLocked(l.Time)
}

// publishLocked publishes one line of the job's log. r.mu is held.
func (r *reporter) publishLocked(l conveyor.LogLine) {
	if r.log == nil {
		r.log = loadLogCap(r.b, r.id)
	}
	f, err := r.b.AppendLog(r.id, r.log.next, l)
	if err != nil {
		r.dropped++
		return
	}
	size := len(l.Line) + lineOverhead
	r.pending = append(r.pending, published{f, size})
	r.inflight += size
	if r.inflight > maxInflight {
		r.awaitLocked(inflightAfter)
	}
	if keep, trim := r.log.add(broker.LineSize(l), r.maxLog); trim {
		r.trimLocked(keep)
	}
}

// awaitLocked waits, oldest first, until the lines still being published
// come to at most target bytes, and forgets those stored. It gives up
// waiting after 5s, and then forgets them all: a broker that stores
// nothing for that long is not made up for by holding lines. r.mu is held.
func (r *reporter) awaitLocked(target int) {
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	i := 0
	for ; i < len(r.pending) && r.inflight > target; i++ {
		select {
		case <-r.pending[i].w.Stored():
		case <-r.pending[i].w.Failed():
		case <-timeout.C:
			r.pending, r.inflight = r.pending[:0], 0
			return
		}
		r.inflight -= r.pending[i].size
	}
	r.pending = append(r.pending[:0], r.pending[i:]...)
}

// takeDirty returns the progress not yet written, if any.
func (r *reporter) takeDirty() *conveyor.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty {
		return nil
	}
	r.dirty = false
	p := *r.progress
	return &p
}

// last returns the latest progress, written or not.
func (r *reporter) last() *conveyor.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.progress == nil {
		return nil
	}
	p := *r.progress
	return &p
}

// flush publishes the lines held back, waits until every published log
// line is stored (or 5s pass), and logs a line saying how many were
// dropped, if any were.
func (r *reporter) flush(ctx context.Context) {
	r.mu.Lock()
	r.releaseLocked(time.Time{})
	pending, dropped := r.pending, r.dropped
	r.pending, r.inflight, r.dropped = nil, 0, 0
	r.mu.Unlock()
	if len(pending) == 0 && dropped == 0 {
		return
	}
	if dropped > 0 {
		r.Log("log", "conveyor: "+itoa(dropped)+" log lines were dropped (the broker was not keeping up)")
		r.mu.Lock()
		pending = append(pending, r.pending...)
		r.pending, r.inflight = nil, 0
		r.mu.Unlock()
	}
	timeout := time.After(5 * time.Second)
	for _, p := range pending {
		select {
		case <-p.w.Stored():
		case <-p.w.Failed():
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
