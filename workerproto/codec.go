package workerproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor"
)

// DecodeError says why a line is not a valid protocol message. The stream
// stays usable: the next line is decoded on its own.
type DecodeError struct {
	// Line is the start of the offending line, at most 200 bytes.
	Line string
	// Reason says what is wrong with it.
	Reason string
	// Unknown is set when the line is well formed but its type is not one
	// of the protocol's: a newer peer's message, which a reader may skip.
	Unknown bool
	// TooLong is set when the line was longer than MaxLineBytes.
	TooLong bool
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("malformed protocol line: %s: %s", e.Reason, strconv.Quote(e.Line))
}

// excerpt returns the start of line, for a DecodeError.
func excerpt(line []byte) string {
	const max = 200
	if len(line) <= max {
		return strings.ToValidUTF8(string(line), "\uFFFD")
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(line[:cut]), "\uFFFD") + "…"
}

// Marshal returns m as one protocol line, with its "type" and without a
// trailing newline.
func Marshal(m Message) ([]byte, error) {
	var v any
	switch m := m.(type) {
	case *Hello:
		v = struct {
			T string `json:"type"`
			*Hello
		}{TypeHello, m}
	case *Job:
		v = struct {
			T string `json:"type"`
			*Job
		}{TypeJob, m}
	case *Batch:
		v = struct {
			T string `json:"type"`
			*Batch
		}{TypeBatch, m}
	case *Cancel:
		v = struct {
			T string `json:"type"`
			*Cancel
		}{TypeCancel, m}
	case *Progress:
		v = struct {
			T string `json:"type"`
			*Progress
		}{TypeProgress, m}
	case *Log:
		v = struct {
			T string `json:"type"`
			*Log
		}{TypeLog, m}
	case *Result:
		v = struct {
			T string `json:"type"`
			*Result
		}{TypeResult, m}
	case *Error:
		v = struct {
			T string `json:"type"`
			*Error
		}{TypeError, m}
	default:
		return nil, fmt.Errorf("workerproto: cannot marshal %T", m)
	}
	return json.Marshal(v)
}

// Decode parses one protocol line (without its newline) and checks the
// fields its type requires. It returns a *DecodeError for a line that is
// not a JSON object, has no or an unknown "type", or lacks a required
// field; unknown fields are ignored, so that newer peers may add some.
// Decode never panics, whatever the bytes.
func Decode(line []byte) (Message, error) {
	fail := func(format string, args ...any) (Message, error) {
		return nil, &DecodeError{Line: excerpt(line), Reason: fmt.Sprintf(format, args...)}
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return fail("not a JSON object")
	}
	var probe struct {
		Type    *string         `json:"type"`
		Percent json.RawMessage `json:"percent"` // required, and 0 is valid
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return fail("invalid JSON: %v", err)
	}
	if probe.Type == nil {
		return fail(`no "type"`)
	}
	var m Message
	switch *probe.Type {
	case TypeHello:
		m = new(Hello)
	case TypeJob:
		m = new(Job)
	case TypeBatch:
		m = new(Batch)
	case TypeCancel:
		m = new(Cancel)
	case TypeProgress:
		if probe.Percent == nil {
			return fail(`progress: "percent" is required`)
		}
		m = new(Progress)
	case TypeLog:
		m = new(Log)
	case TypeResult:
		m = new(Result)
	case TypeError:
		m = new(Error)
	default:
		return nil, &DecodeError{Line: excerpt(line), Reason: fmt.Sprintf("unknown message type %q", *probe.Type), Unknown: true}
	}
	if err := json.Unmarshal(line, m); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return fail("%s: field %q must be %s, not %s", *probe.Type, ute.Field, jsonKind(ute.Type.Kind().String()), ute.Value)
		}
		return fail("%s: %v", *probe.Type, err)
	}
	if reason := check(m); reason != "" {
		return fail("%s: %s", *probe.Type, reason)
	}
	return m, nil
}

// jsonKind names a Go kind as the JSON type it decodes from.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	}
	return "an object"
}

// check returns what a decoded message lacks, or "".
func check(m Message) string {
	switch m := m.(type) {
	case *Hello:
		if m.Protocol < 1 {
			return `"protocol" must be a positive integer`
		}
		if len(m.Algorithms) == 0 {
			return `"algorithms" must list at least one algorithm`
		}
		if m.Concurrency < 0 {
			return `"concurrency" must be a positive integer`
		}
		if m.Prefetch < 0 {
			return `"prefetch" must not be negative`
		}
		seen := map[string]bool{}
		for i, a := range m.Algorithms {
			if err := conveyor.ValidateName(a.Name); err != nil {
				return fmt.Sprintf("algorithms[%d]: %v", i, err)
			}
			if seen[a.Name] {
				return fmt.Sprintf("algorithms[%d]: %s is announced twice", i, a.Name)
			}
			seen[a.Name] = true
			if b := a.Batch; b != nil && (b.MaxSize < 1 || b.MaxWait < 0) {
				return fmt.Sprintf("algorithms[%d] (%s): batch: \"max_size\" must be a positive integer and \"max_wait\" a number of seconds, not negative", i, a.Name)
			}
			for what, s := range map[string]json.RawMessage{"input_schema": a.InputSchema, "output_schema": a.OutputSchema} {
				if s != nil && !isSchemaValue(s) {
					return fmt.Sprintf("algorithms[%d] (%s): %s must be a JSON object or boolean", i, a.Name, what)
				}
			}
		}
	case *Job:
		switch {
		case m.ID == "":
			return `"id" is required`
		case m.Algorithm == "":
			return `"algorithm" is required`
		case m.Input == nil:
			return `"input" is required`
		case m.Attempt < 0:
			return `"attempt" must not be negative`
		case m.Timeout < 0:
			return `"timeout" must not be negative`
		}
	case *Batch:
		if m.Algorithm == "" {
			return `"algorithm" is required`
		}
		if len(m.Jobs) == 0 {
			return `"jobs" must list at least one job`
		}
		for i, j := range m.Jobs {
			switch {
			case j.ID == "":
				return fmt.Sprintf(`jobs[%d]: "id" is required`, i)
			case j.Input == nil:
				return fmt.Sprintf(`jobs[%d]: "input" is required`, i)
			case j.Attempt < 0:
				return fmt.Sprintf(`jobs[%d]: "attempt" must not be negative`, i)
			case j.Timeout < 0:
				return fmt.Sprintf(`jobs[%d]: "timeout" must not be negative`, i)
			}
		}
	case *Cancel:
		if m.ID == "" {
			return `"id" is required`
		}
	case *Progress:
		if m.ID == "" {
			return `"id" is required`
		}
		if !(m.Percent >= 0 && m.Percent <= 100) {
			return fmt.Sprintf(`"percent" must be between 0 and 100, not %g`, m.Percent)
		}
	case *Log:
		// A log without id is the worker's own.
	case *Result:
		if m.ID == "" {
			return `"id" is required`
		}
		if m.Output == nil {
			return `"output" is required (null is a valid output)`
		}
		if m.Final && m.Next != "" {
			return `"final" and "next" exclude each other`
		}
	case *Error:
		if m.ID == "" {
			return `"id" is required`
		}
	}
	return ""
}

// isSchemaValue reports whether s is a JSON object or boolean, the two
// forms of a JSON Schema.
func isSchemaValue(s json.RawMessage) bool {
	s = bytes.TrimSpace(s)
	return len(s) > 0 && (s[0] == '{' || string(s) == "true" || string(s) == "false")
}
