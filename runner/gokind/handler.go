package gokind

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
)

// handler runs jobs of one Go algorithm by calling its function.
type handler[In, Out any] struct {
	fn func(context.Context, In) (Out, error)
}

// Run decodes the task's input into In, calls the algorithm's function with
// a context that carries the task's Reporter (for conveyor.SetProgress and
// conveyor.Logf) and encodes what it returns as the output.
//
// An input that does not decode into In fails the job at once: the error is
// wrapped by conveyor.Permanent and reads "invalid input: …". An empty input
// is read as {}. The function's error is returned as it is, so a function
// may return conveyor.Permanent(err) or a *conveyor.JobError. A panic in the
// function fails the attempt with a *conveyor.JobError of type crashed whose
// Detail is the stack of the panic, trimmed to the algorithm's frames. (A
// panic in a goroutine the function starts cannot be recovered: it crashes
// the runner, as in any Go program.)
func (h *handler[In, Out]) Run(ctx context.Context, t *runner.Task) (json.RawMessage, error) {
	var in In
	input := t.Input
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage(`{}`)
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, conveyor.Permanent(fmt.Errorf("invalid input: %w", err))
	}
	if t.Reporter != nil {
		ctx = conveyor.WithReporter(ctx, t.Reporter)
	}
	ctx = conveyor.WithTraceparent(ctx, t.Traceparent)
	ctx = conveyor.WithArtifactDir(ctx, t.ArtifactDir) // for conveyor.CreateArtifact
	out, err := call(ctx, h.fn, in)
	if err != nil {
		return nil, err
	}
	var value any = out
	if r, ok := value.(conveyor.Routed); ok { // a pipeline stage steering its job
		t.SetRoute(r.Route)
		value = r.Output
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the output as JSON: %w", err)
	}
	return raw, nil
}

// call calls fn, turning a panic into a crashed JobError. Its name marks,
// in a stack trace, where the algorithm's frames end.
func call[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), in In) (out Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &conveyor.JobError{
				Type:    conveyor.ErrorTypeCrashed,
				Message: "panic: " + firstLine(fmt.Sprint(r)),
				Detail:  trimStack(string(debug.Stack())),
			}
		}
	}()
	return fn(ctx, in)
}

// maxStack bounds the stack kept in a JobError's Detail.
const maxStack = 8 << 10

// callFrame starts the line of call's frame in a stack trace.
var callFrame = reflect.TypeFor[Kind]().PkgPath() + ".call["

// pcOffset is the " +0x1f" after a frame's file and line.
var pcOffset = regexp.MustCompile(` \+0x[0-9a-f]+$`)

// trimStack keeps the frames of a debug.Stack taken in a deferred recover
// that lie between the panic and call: the algorithm's own frames, without
// the runtime's above or Conveyor's below. It drops program counter offsets
// and bounds the result to maxStack bytes.
func trimStack(stack string) string {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	start, end := 0, len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			start = i + 2 // skip the frame and its file line
		}
	}
	for i := start; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], callFrame) {
			end = i
			break
		}
	}
	if start >= end {
		start, end = 0, len(lines)
	}
	var b strings.Builder
	for _, l := range lines[start:end] {
		b.WriteString(pcOffset.ReplaceAllString(l, ""))
		b.WriteByte('\n')
	}
	s := b.String()
	if len(s) > maxStack {
		s = strings.ToValidUTF8(s[:maxStack], "") + "…\n"
	}
	return s
}

// firstLine returns the first line of s, with a mark when more follow.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
