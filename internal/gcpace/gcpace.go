// Package gcpace paces garbage collection to what the process is doing.
//
// serve collects when its heap reaches five times what it kept at the last
// collection (GOGC=400): a job allocates a little and keeps little, and
// collecting less often saves about a tenth of the CPU under load. A file
// moving through the object store is another matter: the client and the
// broker copy each of its chunks, so its garbage grows with its size, and
// at that pace a 200 MiB upload took serve's RSS from 35 to ~250 MiB. While
// a file of more than Threshold bytes moves, the collector runs at
// MovingPercent instead; once none does, at the pace set again.
package gcpace

import (
	"runtime/debug"
	"sync"
)

// MovingPercent is the GC percent while a large file moves: the heap
// grows by half of what it keeps before a collection. Measured with
// bench/files: serve's peak RSS moving a 200 MiB file in and a 100 MiB
// artifact out, 247 MiB at 400, 116 at 100, 93 at 50; the transfers ran
// 0–20 % slower than at 400.
const MovingPercent = 50

// Threshold is how many bytes a transfer moves before it counts as
// large: a payload of a few hundred KiB is not worth a change of pace.
const Threshold = 4 << 20

var (
	mu     sync.Mutex
	tuned  int // the percent set by Tune; 0: the process keeps its own
	moving int // large transfers under way
)

// Tune sets the GC percent of the process, as debug.SetGCPercent does, and
// lets large transfers lower it while they last. Without a call (GOGC set
// by the user, a library, a test), transfers change nothing.
func Tune(percent int) {
	mu.Lock()
	defer mu.Unlock()
	tuned = percent
	if moving == 0 {
		debug.SetGCPercent(percent)
	}
}

// Moving marks a large transfer as begun. The function it returns marks it
// over; calls after the first do nothing.
func Moving() (over func()) {
	mu.Lock()
	defer mu.Unlock()
	if tuned == 0 {
		return func() {}
	}
	if moving++; moving == 1 && tuned > MovingPercent {
		debug.SetGCPercent(MovingPercent)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if moving--; moving == 0 && tuned > MovingPercent {
				debug.SetGCPercent(tuned)
			}
		})
	}
}

// Meter counts the bytes of one transfer, and marks it large (Moving) once
// they pass Threshold. Its zero value is ready; it is not safe for
// concurrent use. Done must be called when the transfer ends.
type Meter struct {
	n    int64
	over func()
}

// Add counts n more bytes.
func (m *Meter) Add(n int) {
	m.n += int64(n)
	if m.over == nil && m.n > Threshold {
		m.over = Moving()
	}
}

// Done marks the transfer over.
func (m *Meter) Done() {
	if m.over != nil {
		m.over()
		m.over = nil
	}
}
