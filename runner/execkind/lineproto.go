package execkind

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Limits of the line protocol.
const (
	// maxLineBytes caps one line of stdout or stderr; the rest of a longer
	// line is read and dropped, so an OUTPUT: line must be shorter.
	maxLineBytes = 1 << 20
	// maxMessageBytes caps the message of an ERROR: or FATAL: line.
	maxMessageBytes = 4 << 10
)

// msgKind is what a line of a process's stdout says.
type msgKind int

const (
	msgPlain    msgKind = iota // any other line: a "stdout" log line
	msgOutput                  // OUTPUT: <json>
	msgError                   // ERROR: <message>
	msgFatal                   // FATAL: <message>
	msgProgress                // PROGRESS: <percent> <message>
	msgLog                     // LOG: <message>
	msgFinal                   // FINAL: <json> — an output that ends the pipeline
	msgNext                    // NEXT: <stage> <json> — an output for the named stage
)

func (k msgKind) String() string {
	switch k {
	case msgOutput:
		return "output"
	case msgError:
		return "error"
	case msgFatal:
		return "fatal"
	case msgProgress:
		return "progress"
	case msgLog:
		return "log"
	case msgFinal:
		return "final"
	case msgNext:
		return "next"
	}
	return "plain"
}

// message is one parsed stdout line.
type message struct {
	kind msgKind
	// text is the payload after the prefix (leading blanks trimmed): the
	// JSON of an output, the message of the others; for a plain line, the
	// whole line.
	text string
	// percent is the progress of a msgProgress, in [0, 100].
	percent float64
	// stage is the stage a msgNext names.
	stage string
}

// parseLine parses one stdout line (without its newline) of the exec line
// protocol. Prefixes are case-sensitive and start the line. A PROGRESS line
// whose percent is not a number in [0, 100] is a plain line. parseLine does
// not check that an output is valid JSON.
func parseLine(line string) message {
	prefix, rest, ok := strings.Cut(line, ":")
	if !ok {
		return message{kind: msgPlain, text: line}
	}
	payload := strings.TrimLeft(rest, " \t")
	switch prefix {
	case "OUTPUT":
		return message{kind: msgOutput, text: payload}
	case "ERROR":
		return message{kind: msgError, text: payload}
	case "FATAL":
		return message{kind: msgFatal, text: payload}
	case "LOG":
		return message{kind: msgLog, text: payload}
	case "FINAL":
		return message{kind: msgFinal, text: payload}
	case "NEXT":
		stage, output, ok := strings.Cut(payload, " ")
		if !ok || stage == "" {
			return message{kind: msgPlain, text: line}
		}
		return message{kind: msgNext, text: strings.TrimLeft(output, " \t"), stage: stage}
	case "PROGRESS":
		num, msg, _ := strings.Cut(payload, " ")
		pct, err := strconv.ParseFloat(strings.TrimSuffix(num, "%"), 64)
		if err != nil || math.IsNaN(pct) || pct < 0 || pct > 100 {
			return message{kind: msgPlain, text: line}
		}
		return message{kind: msgProgress, text: strings.TrimLeft(msg, " \t"), percent: pct}
	}
	return message{kind: msgPlain, text: line}
}

// readLines calls fn with each line read from r until EOF or a read error,
// without its "\n" or "\r\n". A line longer than maxLen is cut to maxLen
// bytes and the rest is read and dropped; fn learns how many bytes were
// dropped. A last line without a newline is passed too. readLines returns
// nil at EOF and when r was closed under it, else the read error.
func readLines(r io.Reader, maxLen int, fn func(line string, dropped int)) error {
	br := bufio.NewReaderSize(r, min(maxLen, 64<<10))
	var line []byte
	dropped := 0
	for {
		chunk, err := br.ReadSlice('\n')
		full := err == nil
		if full {
			chunk = chunk[:len(chunk)-1]
		}
		take := min(len(chunk), maxLen-len(line))
		line = append(line, chunk[:take]...)
		dropped += len(chunk) - take
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if full || len(line)+dropped > 0 {
			if dropped == 0 {
				line = trimCR(line)
			}
			fn(string(line), dropped)
			line, dropped = line[:0], 0
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrClosed):
			return nil
		default:
			return err
		}
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// truncated returns line marked as cut short when dropped > 0.
func truncated(line string, dropped int) string {
	if dropped == 0 {
		return line
	}
	return fmt.Sprintf("%s … [line truncated: %d more bytes dropped]", line, dropped)
}
