package workerproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// spliceMin is the size from which a job's input is written to the
// stream as it is, around the rest of its line, rather than copied into
// the line (see around).
const spliceMin = 64 << 10

// around returns the job line of j, newline included, as what comes
// before its input and what comes after, so that a large input is
// written as it is instead of copied into a line of its own size
// (twice: json.Marshal grows a buffer, then copies it out). ok is false
// when the input is not one line of valid JSON (a newline between its
// tokens): then the whole line must be marshaled.
func around(j *Job) (head, tail []byte, ok bool) {
	if bytes.IndexByte(j.Input, '\n') >= 0 || !json.Valid(j.Input) {
		return nil, nil, false
	}
	c := *j
	c.Input = json.RawMessage("0")
	line, err := Marshal(&c)
	if err != nil {
		return nil, nil, false
	}
	start, end, found := jsonscan.Find(line, "input")
	if !found {
		return nil, nil, false
	}
	return line[:start], append(line[end:len(line):len(line)], '\n'), true
}

// keepLine is the largest line buffer a Reader keeps for the next line.
const keepLine = 256 << 10

// Reader reads protocol messages, one per line, from a stream. It is not
// safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	line []byte
	max  int
}

// NewReader returns a Reader of r that accepts lines up to MaxLineBytes.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: MaxLineBytes}
}

// Next returns the next message. Blank lines are skipped.
//
// A malformed line is returned as a *DecodeError (see Decode; a line over
// MaxLineBytes has TooLong set and is discarded whole): the caller may
// report it and call Next again. Any other error ends the stream: io.EOF
// when it ended cleanly (a last line without newline is still decoded),
// else the read error.
func (r *Reader) Next() (Message, error) {
	for {
		line, tooLong, err := r.readLine()
		if tooLong {
			return nil, &DecodeError{Line: excerpt(line), Reason: "line longer than the protocol's limit of 16 MiB", TooLong: true}
		}
		if len(line) > 0 && !isBlank(line) {
			m, err := Decode(line) // copies what it keeps of line
			if cap(r.line) > keepLine {
				r.line = nil // a large result's: not held until the next one
			}
			return m, err
		}
		if err != nil {
			return nil, err
		}
	}
}

// readLine reads one line without its "\n" (and "\r"). On a line longer
// than r.max it returns the start of it with tooLong set, after reading
// and dropping the rest. err is set only when the stream ended or failed;
// line may then still hold a last, unterminated line.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.line = r.line[:0]
	n := 0 // bytes of the line so far, kept or not
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += len(chunk)
		if !tooLong && n > r.max+1 { // +1: the newline
			tooLong = true
			r.line = append(r.line, chunk[:min(len(chunk), 200)]...)
			r.line = r.line[:min(len(r.line), 200)]
		} else if !tooLong {
			r.line = append(r.line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return r.line, true, err
		}
		return trimEOL(r.line), false, err
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// Writer writes protocol messages, one per line, to a stream. It is safe
// for concurrent use: each message is written whole, by one Write call.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes m and a newline. It returns the error of Marshal or of the
// underlying Write.
func (w *Writer) Write(m Message) error {
	if j, ok := m.(*Job); ok && len(j.Input) >= spliceMin {
		if head, tail, ok := around(j); ok {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, b := range [][]byte{head, j.Input, tail} {
				if _, err := w.w.Write(b); err != nil {
					return err
				}
			}
			return nil
		}
	}
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(b)
	return err
}
