//go:build unix

package execkind

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/runner"
)

func init() {
	runner.RegisterKind("exec", Kind{}, spawn.Keys...)
}

// Kind is the exec runner kind. The zero value is ready to use; importing
// the package registers it under "exec".
type Kind struct{}

// Options are the keys of an exec entry beyond the common ones: those of
// every kind that runs programs — command, dir, env, user, rlimits — and
// no others. The entry keeps them (config.Algorithm.Options); the kind
// decodes them.
type Options = spawn.Options

// Entry returns an exec entry: common's keys (its Kind set to exec) and
// opts, as the YAML entry {kind: exec, command: […], …} would be. It is
// how Go code — tests, a program that embeds a runner — writes one.
func Entry(common config.Algorithm, opts Options) config.Algorithm {
	common.Kind = "exec"
	if err := common.SetOptions(opts); err != nil {
		panic(err) // Options always encodes to a mapping
	}
	return common
}

// Check checks an exec entry's own keys as the config is loaded
// (runner.Checker): that they decode, and that its rlimits are not
// negative.
func (Kind) Check(entry config.Algorithm) error {
	var opt Options
	if err := entry.DecodeOptions(&opt); err != nil {
		return err
	}
	return opt.Check()
}

// Job variables set for every attempt. An entry's env may not set them.
const (
	envJobID     = "CONVEYOR_JOB_ID"
	envAlgorithm = "CONVEYOR_ALGORITHM"
	envAttempt   = "CONVEYOR_ATTEMPT"
	envInput     = "CONVEYOR_INPUT"
	envDeadline  = "CONVEYOR_DEADLINE"
	envTmpDir    = "CONVEYOR_TMPDIR"
	envTrace     = "CONVEYOR_TRACEPARENT"
	envOutputDir = "CONVEYOR_OUTPUT_DIR"
)

var reserved = []string{envJobID, envAlgorithm, envAttempt, envInput, envDeadline, envTmpDir, envTrace, envOutputDir}

// Provision checks one exec entry and returns the one algorithm it serves.
//
// The entry needs a valid name and a non-empty command, an argv run without
// a shell. The command's executable is resolved now: a bare name through
// PATH (the entry's env PATH if it sets one, else the runner's), a relative
// path against the entry's dir. Dir, the working directory of every
// attempt, defaults to the runner's current directory and must exist.
// Env adds to or overrides the inherited PATH, HOME, LANG and TMPDIR but may
// not set the CONVEYOR_* job variables. An env TMPDIR names the directory
// in which the per-attempt temporary directories are made.
//
// Provision also removes the per-attempt directories of the algorithm
// that an earlier runner, killed before it could, left in that directory
// (see sweep): only directories of its naming, older than this runner,
// that no live runner's attempt holds.
//
// Provision returns an error naming the entry and its problem: an invalid
// name, a key of its own that does not decode, an empty command, an executable that is missing or not executable,
// a missing dir, a malformed or reserved env name, or a schema that is not
// representable as JSON.
func (Kind) Provision(ctx context.Context, entry config.Algorithm) ([]runner.Served, error) {
	if entry.Name == "" {
		return nil, errors.New("exec: name is required: an exec entry serves exactly one algorithm")
	}
	if err := conveyor.ValidateName(entry.Name); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("exec algorithm %s: %s", entry.Name, fmt.Sprintf(format, args...))
	}
	var opt Options
	if err := entry.DecodeOptions(&opt); err != nil {
		return nil, fail("%v", err)
	}
	if len(opt.Command) == 0 || opt.Command[0] == "" {
		return nil, fail("command is required: the program and its arguments, e.g. [python3, job.py]")
	}
	for k := range opt.Env {
		if slices.Contains(reserved, k) {
			return nil, fail("env %s: reserved: it is set for each job", k)
		}
	}
	cmd, err := spawn.CommandOf(opt)
	if err != nil {
		return nil, fail("%v", err)
	}
	in, err := config.SchemaJSON(entry.InputSchema)
	if err != nil {
		return nil, fail("input_schema: %v", err)
	}
	if in == nil {
		in = conveyor.AnyObjectSchema
	}
	out, err := config.SchemaJSON(entry.OutputSchema)
	if err != nil {
		return nil, fail("output_schema: %v", err)
	}
	grace := entry.Grace.Std()
	if grace <= 0 {
		grace = config.DefaultGrace
	}
	uid := -1
	if u, _, ok := cmd.Limits.Owner(); ok {
		uid = u
	}
	for _, dir := range sweep(opt.Env["TMPDIR"], entry.Name, uid) {
		runner.Logger(ctx).Info("exec: removed the temporary directory of an attempt of an earlier runner", "algorithm", entry.Name, "dir", dir)
	}
	h := &handler{
		name:   entry.Name,
		cmd:    cmd,
		tmp:    opt.Env["TMPDIR"],
		grace:  grace,
		drain:  spawn.DrainTimeout,
		maxLen: maxLineBytes,
	}
	alg := conveyor.Algorithm{
		Name:         entry.Name,
		Description:  entry.Description,
		Kind:         "exec",
		InputSchema:  in,
		OutputSchema: out,
		Timeout:      entry.Timeout,
		MaxAttempts:  entry.MaxAttempts,
	}
	return []runner.Served{{Algorithm: alg, Handler: h}}, nil
}

// jobEnv returns the environment of one attempt, sorted: the base env with
// TMPDIR set to the attempt's directory, plus the job variables.
func (h *handler) jobEnv(t *runner.Task, tmpDir, inputPath, outputDir string) []string {
	env := make(map[string]string, len(h.cmd.Env)+8)
	for k, v := range h.cmd.Env {
		env[k] = v
	}
	env["TMPDIR"] = tmpDir
	env[envTmpDir] = tmpDir
	env[envInput] = inputPath
	env[envOutputDir] = outputDir
	env[envJobID] = t.JobID
	env[envAlgorithm] = cmp.Or(t.Algorithm, h.name)
	env[envAttempt] = fmt.Sprint(t.Attempt)
	if t.Traceparent != "" {
		env[envTrace] = t.Traceparent
	}
	if !t.Deadline.IsZero() {
		env[envDeadline] = t.Deadline.UTC().Format(time.RFC3339)
	}
	return spawn.EnvList(env)
}

// Interface guards.
var (
	_ runner.Kind    = Kind{}
	_ runner.Checker = Kind{}
)
