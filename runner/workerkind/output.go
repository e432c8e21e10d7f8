//go:build unix

package workerkind

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/conveyor-run/conveyor/internal/spawn"
)

// Limits on a worker's stdout and stderr.
const (
	// maxOutputLine cuts longer stdout and stderr lines into pieces.
	maxOutputLine = 64 << 10
	// settleTimeout bounds how long a job waits, after its answer, for
	// the worker's earlier output to be read.
	settleTimeout = time.Second
)

// output reads the lines of a worker's stdout or stderr and passes each
// to emit. Its settle method is a barrier: it returns once every byte
// written to the pipe before the call has been read and emitted, so the
// lines a handler printed before its result land in that job's log.
type output struct {
	f    *os.File
	emit func(line string)

	settling sync.Mutex // one settle at a time: jobs of one worker end concurrently
	mu       sync.Mutex
	settled  chan struct{} // non-nil while a settle waits; closed by the reader
	done     chan struct{} // closed when the reader has ended
	pending  []byte        // a line without its newline yet
}

func newOutput(f *os.File, emit func(string)) *output {
	return &output{f: f, emit: emit, done: make(chan struct{})}
}

// read reads until EOF or until the file is closed, then emits what is
// left of a last line. It is the only goroutine that emits.
func (o *output) read() {
	defer close(o.done)
	defer o.finishSettle()
	buf := make([]byte, 32<<10)
	for {
		n, err := o.f.Read(buf)
		o.consume(buf[:n])
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A settle: read what is in the pipe now without blocking.
			_ = o.f.SetReadDeadline(time.Time{})
			o.drain(buf)
			o.flushPartial()
			o.finishSettle()
		default: // EOF, or closed under us
			o.flushPartial()
			return
		}
	}
}

// drain reads the pipe until it is empty, without waiting for more. The
// file is non-blocking (os.Pipe puts it in the runtime's poller), so a
// raw read returns EAGAIN once the pipe is empty.
func (o *output) drain(buf []byte) {
	rc, err := o.f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		for {
			n, err := syscall.Read(int(fd), buf)
			if n <= 0 || err != nil {
				return
			}
			o.consume(buf[:n])
		}
	})
}

// consume emits the complete lines of data and keeps the rest.
func (o *output) consume(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			o.pending = append(o.pending, data...)
			if len(o.pending) >= maxOutputLine {
				o.flushPartial()
			}
			return
		}
		o.pending = append(o.pending, data[:i]...)
		data = data[i+1:]
		o.flushPartial()
	}
}

// flushPartial emits the pending bytes, if any, as one line.
func (o *output) flushPartial() {
	if len(o.pending) == 0 {
		return
	}
	line := strings.TrimSuffix(string(o.pending), "\r")
	o.pending = o.pending[:0]
	o.emit(strings.ToValidUTF8(line, "\uFFFD"))
}

// settle returns once everything written to the pipe before the call
// has been emitted, or after settleTimeout. Concurrent calls take turns.
func (o *output) settle() {
	o.settling.Lock()
	defer o.settling.Unlock()
	o.mu.Lock()
	select {
	case <-o.done:
		o.mu.Unlock()
		return
	default:
	}
	ch := make(chan struct{})
	o.settled = ch
	o.mu.Unlock()
	// Wake the reader: its Read returns ErrDeadlineExceeded at once.
	if err := o.f.SetReadDeadline(time.Now()); err != nil {
		o.finishSettle()
	}
	timer := time.NewTimer(settleTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-o.done:
	case <-timer.C:
	}
}

func (o *output) finishSettle() {
	o.mu.Lock()
	if o.settled != nil {
		close(o.settled)
		o.settled = nil
	}
	o.mu.Unlock()
}

// wait waits up to d for the reader to reach EOF, then closes the file,
// which ends the reader if a process outside the group still holds the
// pipe, and waits for it.
func (o *output) wait(d time.Duration) { spawn.DrainPipes(o.done, d, o.f) }
