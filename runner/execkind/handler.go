//go:build unix

package execkind

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/runner"
)

// handler runs the attempts of one exec algorithm. It is immutable after
// Provision and safe for concurrent use.
type handler struct {
	name   string
	cmd    spawn.Command // the program, its dir, base env, user and rlimits
	tmp    string        // parent of per-attempt directories; "" = os.TempDir()
	grace  time.Duration // between SIGTERM and SIGKILL
	drain  time.Duration // how long pipes may stay open after the group is killed
	maxLen int           // longest line kept
}

// Run runs one attempt as a process and returns the JSON of its OUTPUT:
// line.
//
// Run makes a directory private to the attempt (mode 0700), writes the input
// into input.json there (mode 0600) and starts the command in its own
// process group, with TMPDIR and CONVEYOR_TMPDIR set to the directory,
// CONVEYOR_OUTPUT_DIR to t.ArtifactDir() (whose files become the job's
// artifacts) and the other CONVEYOR_* job variables set. Its stdin is that same file,
// opened read-only: the same bytes then EOF as a pipe would give, without a
// copying goroutine that a child which never reads stdin could block.
// Stdout and stderr are read line by line as they come (see the package
// documentation); progress and logs go to t.Reporter.
//
// When ctx is done first, the process group gets SIGTERM and, if its leader
// has not exited after the grace period, SIGKILL; Run then returns an error
// wrapping ctx.Err() (and context.Cause(ctx) when that differs), and logs
// how it stopped the process. When the
// leader exits, whether on its own or signalled, anything still running in
// its group is killed with SIGKILL, and pipes that a process outside the
// group still holds open are closed after a short drain timeout. Run
// returns only once the process is reaped and its output read, and it
// removes the directory on every path.
//
// Otherwise Run returns a *conveyor.JobError: of type "error" for an
// ERROR: line (its message), a non-zero exit ("exit status N"), an invalid
// or missing OUTPUT: line; of type "crashed" when the process was killed by
// a signal Run did not send. Detail holds the last lines of stderr. Errors
// setting up the attempt (temporary files, starting the process) are
// returned as plain errors.
func (h *handler) Run(ctx context.Context, t *runner.Task) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, h.stopped(ctx, "not started")
	}
	tmpDir, err := os.MkdirTemp(h.tmp, tempPrefix(h.name)+"*")
	if err != nil {
		return nil, fmt.Errorf("exec %s: make temporary directory: %w", h.name, err)
	}
	// The lock tells a sweep at another runner's start that the directory
	// is in use (see sweep). Should it fail, the attempt runs all the same.
	unlock, _ := lockDir(tmpDir)
	defer func() {
		if rerr := removeAll(tmpDir); rerr != nil {
			t.Reporter.Log("log", "conveyor: removing the temporary directory: "+rerr.Error())
		}
		if unlock != nil {
			unlock()
		}
	}()
	input := []byte(t.Input)
	if len(input) == 0 {
		input = []byte("null")
	}
	inputPath := filepath.Join(tmpDir, "input.json")
	if err := os.WriteFile(inputPath, input, 0o600); err != nil {
		return nil, fmt.Errorf("exec %s: write input: %w", h.name, err)
	}
	// The artifacts go to the runner's directory for them; a handler
	// run without one (outside a runner) gets one that is dropped.
	outputDir, err := t.ArtifactDir()
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", h.name, err)
	}
	if outputDir == "" {
		outputDir = filepath.Join(tmpDir, "output")
		if err := os.Mkdir(outputDir, 0o700); err != nil {
			return nil, fmt.Errorf("exec %s: make output directory: %w", h.name, err)
		}
	}
	if uid, gid, ok := h.cmd.Limits.Owner(); ok {
		// The process's own user must own its private directory.
		if err := errors.Join(os.Chown(tmpDir, uid, gid), os.Chown(inputPath, uid, gid), os.Chown(outputDir, uid, gid)); err != nil {
			return nil, fmt.Errorf("exec %s: hand the temporary files to the user: %w", h.name, err)
		}
	}
	stdin, err := os.Open(inputPath)
	if err != nil {
		return nil, fmt.Errorf("exec %s: open input: %w", h.name, err)
	}
	defer stdin.Close()

	var st outcome
	p := &process{
		path:  h.cmd.Path,
		args:  h.cmd.Args,
		dir:   h.cmd.Dir,
		env:   h.jobEnv(t, tmpDir, inputPath, outputDir),
		stdin: stdin,
		grace: h.grace,
		drain: h.drain,
		stdout: func(line string, dropped int) {
			st.stdout(t.Reporter, line, dropped)
		},
		stderr: func(line string, dropped int) {
			line = strings.ToValidUTF8(truncated(line, dropped), "\uFFFD")
			st.stderr.Add(line)
			t.Reporter.Log("stderr", line)
		},
		maxLen: h.maxLen,
		limits: h.cmd.Limits,
	}
	res, err := p.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", h.name, err)
	}
	if res.signalled != "" {
		err := h.stopped(ctx, res.signalled)
		t.Reporter.Log("log", "conveyor: "+err.Error())
		return nil, err
	}
	out, err := st.result(res.status)
	if err == nil {
		t.SetRoute(st.route)
	}
	return out, err
}

// stopped returns the error of an attempt that ctx stopped.
func (h *handler) stopped(ctx context.Context, how string) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause != nil && cause != err {
		return fmt.Errorf("exec %s: %s: %w: %w", h.name, how, err, cause)
	}
	return fmt.Errorf("exec %s: %s: %w", h.name, how, err)
}

// outcome is what an attempt's stdout and stderr said. The stdout and
// stderr callbacks each run on one goroutine; result is called after both.
type outcome struct {
	output json.RawMessage // from the last OUTPUT:, FINAL: or NEXT: line
	route  conveyor.Route  // what that line said of a pipeline's next stage
	errMsg string          // from the first ERROR: or FATAL: line
	failed bool            // an ERROR: or FATAL: line was seen
	fatal  bool            // the first such line was FATAL: no retries
	badOut string          // why an OUTPUT: line was rejected
	stderr spawn.Tail
}

// stdout handles one stdout line.
func (o *outcome) stdout(r conveyor.Reporter, line string, dropped int) {
	m := parseLine(line)
	isOutput := m.kind == msgOutput || m.kind == msgFinal || m.kind == msgNext
	if dropped > 0 && isOutput {
		o.badOut = fmt.Sprintf("%s: line is longer than the %d-byte limit", strings.ToUpper(m.kind.String()), maxLineBytes)
		return
	}
	switch m.kind {
	case msgOutput, msgFinal, msgNext:
		if !json.Valid([]byte(m.text)) {
			var v any
			err := json.Unmarshal([]byte(m.text), &v)
			o.badOut = fmt.Sprintf("%s: line is not valid JSON: %v", strings.ToUpper(m.kind.String()), err)
			return
		}
		o.output, o.badOut = json.RawMessage(m.text), ""
		o.route = conveyor.Route{Final: m.kind == msgFinal, Next: m.stage}
	case msgError, msgFatal:
		if !o.failed {
			msg := m.text
			if len(msg) > maxMessageBytes {
				msg = msg[:maxMessageBytes] + "…"
			}
			o.failed, o.fatal, o.errMsg = true, m.kind == msgFatal, strings.ToValidUTF8(msg, "\uFFFD")
		}
	case msgProgress:
		r.Progress(m.percent, strings.ToValidUTF8(m.text, "\uFFFD"))
	case msgLog:
		r.Log("log", strings.ToValidUTF8(truncated(m.text, dropped), "\uFFFD"))
	default:
		r.Log("stdout", strings.ToValidUTF8(truncated(line, dropped), "\uFFFD"))
	}
}

// result decides the attempt's result from what the process said and how
// it ended. An ERROR: line fails the attempt whatever the exit status, and a
// FATAL: line fails the job without further attempts; a non-zero exit fails
// it even after an OUTPUT: line.
func (o *outcome) result(ws syscall.WaitStatus) (json.RawMessage, error) {
	fail := func(typ, msg string) error {
		return &conveyor.JobError{Type: typ, Message: msg, Detail: o.stderr.String()}
	}
	switch {
	case o.failed && o.fatal:
		return nil, conveyor.Permanent(fail(conveyor.ErrorTypeError, cmp.Or(o.errMsg, "FATAL: line without a message")))
	case o.failed:
		return nil, fail(conveyor.ErrorTypeError, cmp.Or(o.errMsg, "ERROR: line without a message"))
	case ws.Signaled():
		msg := fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
		if ws.CoreDump() {
			msg += ", core dumped"
		}
		return nil, fail(conveyor.ErrorTypeCrashed, msg)
	case ws.ExitStatus() != 0:
		msg := fmt.Sprintf("exit status %d", ws.ExitStatus())
		if o.output != nil {
			msg += " after an OUTPUT: line"
		}
		return nil, fail(conveyor.ErrorTypeError, msg)
	case o.badOut != "":
		return nil, fail(conveyor.ErrorTypeError, o.badOut)
	case o.output == nil:
		return nil, fail(conveyor.ErrorTypeError, "exited 0 without an OUTPUT: line")
	}
	return o.output, nil
}
