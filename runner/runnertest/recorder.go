package runnertest

import (
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Recorder is a conveyor.Reporter that keeps what an attempt reports, for
// tests. It is safe for concurrent use. The zero Recorder works, but only
// one made by NewRecorder wakes WaitFor on each report.
type Recorder struct {
	mu       sync.Mutex
	lines    []Line
	progress []conveyor.Progress
	changed  chan struct{}
}

// Line is one log line an attempt reported.
type Line struct{ Stream, Text string }

var _ conveyor.Reporter = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{}, 1)} }

// Progress records a progress report.
func (r *Recorder) Progress(percent float64, message string) {
	r.mu.Lock()
	r.progress = append(r.progress, conveyor.Progress{Percent: percent, Message: message})
	r.mu.Unlock()
	r.notify()
}

// Log records a log line.
func (r *Recorder) Log(stream, line string) {
	r.mu.Lock()
	r.lines = append(r.lines, Line{stream, line})
	r.mu.Unlock()
	r.notify()
}

func (r *Recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Lines returns the log lines so far.
func (r *Recorder) Lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Line(nil), r.lines...)
}

// Progresses returns the progress reports so far.
func (r *Recorder) Progresses() []conveyor.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]conveyor.Progress(nil), r.progress...)
}

// HasLine reports whether some log line, on any stream, is text.
func (r *Recorder) HasLine(text string) bool {
	for _, l := range r.Lines() {
		if l.Text == text {
			return true
		}
	}
	return false
}

// HasProgress reports whether percent with message was reported.
func (r *Recorder) HasProgress(percent float64, message string) bool {
	for _, p := range r.Progresses() {
		if p.Percent == percent && p.Message == message {
			return true
		}
	}
	return false
}

// WaitFor waits until cond holds, re-checking on every report, and fails
// the test if it does not within 30s.
func (r *Recorder) WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
