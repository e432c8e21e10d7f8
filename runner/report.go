package runner

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// maxLogLine caps one log line; longer lines are cut with a marker.
const maxLogLine = 16 << 10

// reporter is an attempt's conveyor.Reporter. Progress is only remembered
// here and written to the job record by the runner's ticker, so a handler
// reporting progress in a tight loop costs one record write per tick, and
// the last value is written with the outcome. Log lines are published
// asynchronously; flush waits until they are stored. The job's log is
// kept under maxLog bytes of text: past it, the oldest lines are purged
// (see logcap.go).
type reporter struct {
	b       *broker.Broker
	id      string
	attempt int
	stage   *conveyor.Stage // of a pipeline job: progress is of the whole pipeline
	maxLog  int

	mu       sync.Mutex
	progress *conveyor.Progress
	dirty    bool
	pending  []jetstream.PubAckFuture
	dropped  int
	log      *logCap // nil until the first line
}

var _ conveyor.Reporter = (*reporter)(nil)

func newReporter(b *broker.Broker, id string, attempt int, stage *conveyor.Stage, maxLog int) *reporter {
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

// Log publishes one line of the job's log.
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
	if r.log == nil {
		r.log = loadLogCap(r.b, r.id)
	}
	f, err := r.b.AppendLog(r.id, r.log.next, l)
	if err != nil {
		r.dropped++
		return
	}
	r.pending = append(r.pending, f)
	if len(r.pending) >= 256 {
		r.pending = settled(r.pending)
	}
	if keep, trim := r.log.add(broker.LineSize(l), r.maxLog); trim {
		r.trimLocked(keep)
	}
}

// settled drops the futures that have resolved.
func settled(fs []jetstream.PubAckFuture) []jetstream.PubAckFuture {
	keep := fs[:0]
	for _, f := range fs {
		select {
		case <-f.Ok():
		case <-f.Err():
		default:
			keep = append(keep, f)
		}
	}
	return keep
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

// flush waits until every published log line is stored (or 5s pass), and
// logs a line saying how many were dropped, if any were.
func (r *reporter) flush(ctx context.Context) {
	r.mu.Lock()
	pending, dropped := r.pending, r.dropped
	r.pending, r.dropped = nil, 0
	r.mu.Unlock()
	if len(pending) == 0 && dropped == 0 {
		return
	}
	if dropped > 0 {
		r.Log("log", "conveyor: "+itoa(dropped)+" log lines were dropped (the broker was not keeping up)")
		r.mu.Lock()
		pending = append(pending, r.pending...)
		r.pending = nil
		r.mu.Unlock()
	}
	timeout := time.After(5 * time.Second)
	for _, f := range pending {
		select {
		case <-f.Ok():
		case <-f.Err():
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
