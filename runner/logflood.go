package runner

import (
	"fmt"
	"time"

	"github.com/conveyor-run/conveyor"
)

// logRate bounds how fast the lines of one attempt reach the broker: at
// most 1 MiB a second, each line counted as its text and lineOverhead.
// Past it, the newest lines, up to logRate of them, are held in memory
// and older ones dropped; the held lines are published once the second
// is over — on the next line, the runner's tick or the attempt's end —
// after a line saying how many were dropped. So a process printing a GiB
// costs the broker, and the runner's memory, what one printing a MiB a
// second does, and its log still ends with its last lines: the log keeps
// only the newest lines anyway (logs.max_per_job, 1 MiB by default).
const logRate = 1 << 20

// lineOverhead is what a log line costs besides its text — its JSON, the
// message around it, a held line's struct — as the rate and the in-flight
// bound count it, so that a flood of short lines is bounded too.
const lineOverhead = 64

// flood is the rate limit of one attempt's log. Its methods are called
// with the reporter's lock held.
type flood struct {
	window  time.Time  // when the current second began
	spent   int        // bytes published in it
	held    []heldLine // held[head:] wait for the next second, oldest first
	head    int
	size    int // of the held lines
	dropped int // lines dropped since the last release
}

type heldLine struct {
	line conveyor.LogLine
	size int
}

func lineCost(l conveyor.LogLine) int { return len(l.Line) + lineOverhead }

// admit reports whether l may be published now. If not, it holds l,
// dropping the oldest held lines past logRate.
func (f *flood) admit(l conveyor.LogLine) bool {
	n := lineCost(l)
	holding := f.head < len(f.held)
	if !holding && l.Time.Sub(f.window) >= time.Second {
		f.window, f.spent = l.Time, 0
	}
	if !holding && f.spent+n <= logRate {
		f.spent += n
		return true
	}
	f.held = append(f.held, heldLine{l, n})
	f.size += n
	for f.size > logRate && len(f.held)-f.head > 1 {
		f.size -= f.held[f.head].size
		f.held[f.head] = heldLine{}
		f.head++
		f.dropped++
	}
	if f.head > len(f.held)/2 {
		f.held = append(f.held[:0], f.held[f.head:]...)
		f.head = 0
	}
	return false
}

// release returns the held lines, after a marker line when some were
// dropped, once the second they were held in is over — or at once when
// now is zero, at the attempt's end — and counts them against the next
// second. It returns nil when there is nothing to release yet.
func (f *flood) release(now time.Time, attempt int) []conveyor.LogLine {
	if f.head == len(f.held) || (!now.IsZero() && now.Sub(f.window) < time.Second) {
		return nil
	}
	lines := make([]conveyor.LogLine, 0, len(f.held)-f.head+1)
	if f.dropped > 0 {
		first := f.held[f.head].line
		lines = append(lines, conveyor.LogLine{Time: first.Time, Stream: "log", Attempt: attempt,
			Line: fmt.Sprintf("conveyor: %d log lines dropped: the job logged more than %d KiB a second", f.dropped, logRate>>10)})
	}
	for _, h := range f.held[f.head:] {
		lines = append(lines, h.line)
	}
	f.window, f.spent = now, f.size
	f.held, f.head, f.size, f.dropped = f.held[:0], 0, 0, 0
	return lines
}

// releaseLocked publishes what the rate limit releases at now (see
// flood.release). r.mu is held.
func (r *reporter) releaseLocked(now time.Time) {
	for _, l := range r.flood.release(now, r.attempt) {
		r.publishLocked(l)
	}
}

// tick publishes the lines held back once their second is over, for an
// attempt that has gone quiet since.
func (r *reporter) tick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(now)
}
