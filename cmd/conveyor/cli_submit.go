package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

var submitCommand = &command{
	name: "submit", args: "ALGO", summary: "submit a job (--wait: and wait for its result)",
	help: `Submit a job of the algorithm ALGO and print it: on a terminal the
job, otherwise (piped, as in ID=$(conveyor submit …)) its id alone; --json
prints the job as JSON either way. The input is a JSON value: the file
--input names ("-" for stdin), or --data; with neither, stdin if it is not
a terminal (empty: {}), else {}.

With --wait, wait for the job to finish like "conveyor wait" and exit like it:
0 if it succeeded, 1 if it failed or was canceled, 3 if --wait-timeout passed
first. --timeout is the job's own time limit, enforced by the runner.

With --each FILE ("-" for stdin), submit one job per line of FILE, each line
a JSON input, in batches of up to 1000 per request (POST /v1/jobs/batch), and
print the ids of the jobs, one per line, in the order of the lines. A batch
with a bad line is refused whole, and the error names the line.

With --file NAME=@PATH (repeatable), upload the file at PATH first and
reference it in the input at NAME, a key of the input object or a JSON
pointer (/a/b): --file data=@big.csv sets "data" to {"$file": "<id>"}.`,
	run: cmdSubmit,
}

func cmdSubmit(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var (
		input, data, each    string
		priority             string
		wait                 bool
		timeout, waitTimeout durationFlag
		delay                durationFlag
		runAt                string
		labels               = labelsFlag{}
		requires             = labelsFlag{}
		files                fileFlag
		req                  conveyor.SubmitRequest
	)
	fs.Var(&files, "file", "upload the file at PATH and reference it at `NAME=@PATH` in the input (repeatable)")
	fs.StringVar(&input, "input", "", "read the input from `FILE` (- for stdin)")
	fs.StringVar(&data, "data", "", "the input, as `JSON`")
	fs.StringVar(&each, "each", "", "submit one job per line of `FILE` (- for stdin), each line a JSON input")
	fs.BoolVar(&wait, "wait", false, "wait for the job to finish and print its result")
	fs.Var(&waitTimeout, "wait-timeout", "with --wait, give up waiting after `D` (default: no limit)")
	fs.Var(&timeout, "timeout", "the job's time limit per attempt, `D` like 30s or 5m (default: the algorithm's)")
	fs.StringVar(&priority, "priority", "", "queue priority `P`: high, normal or low (default normal)")
	fs.StringVar(&req.IdempotencyKey, "idempotency-key", "", "submit at most once per `KEY`: a repeat returns the first job")
	fs.IntVar(&req.MaxAttempts, "max-attempts", 0, "try the job at most `N` times (default: the algorithm's)")
	fs.StringVar(&req.Mutex, "mutex", "", "never run at the same time as another job with mutex `KEY`")
	fs.Var(labels, "label", "add the label `key=value` (repeatable)")
	fs.Var(requires, "requires", "run only on runners with the label `key=value` (repeatable)")
	fs.Var(&delay, "delay", "run the job `D` from now (like 90s or 2h): it is scheduled until then")
	fs.StringVar(&runAt, "run-at", "", "run the job at `TIME` (RFC 3339): it is scheduled until then")
	fs.StringVar(&req.CallbackURL, "callback-url", "", "POST the job to `URL` once it is final (its host must be in the server's callbacks.allow_hosts)")
	pos, err := parseArgs(fs, args, 1, 1, "algorithm name")
	if err != nil {
		return err
	}
	req.Algorithm = pos[0]
	if err := conveyor.ValidateName(req.Algorithm); err != nil {
		return usagef("%s", conveyor.ErrorMessage(err))
	}
	if priority != "" {
		if req.Priority, err = conveyor.ParsePriority(priority); err != nil {
			return usagef("--priority: %s", conveyor.ErrorMessage(err))
		}
	}
	if req.MaxAttempts < 0 {
		return usagef("--max-attempts: must not be negative")
	}
	if waitTimeout > 0 && !wait {
		return usagef("--wait-timeout needs --wait")
	}
	req.Timeout = conveyor.Duration(timeout)
	req.Delay = conveyor.Duration(delay)
	if runAt != "" {
		if delay != 0 {
			return usagef("give --delay or --run-at, not both")
		}
		t, err := time.Parse(time.RFC3339, runAt)
		if err != nil {
			return usagef("--run-at: want an RFC 3339 time like 2026-01-02T15:04:05Z, not %q", runAt)
		}
		req.RunAt = &t
	}
	if len(labels) > 0 {
		req.Labels = labels
	}
	if len(requires) > 0 {
		req.Requires = conveyor.Requirements(requires)
		if err := req.Requires.Validate(); err != nil {
			return usagef("--%s", err)
		}
	}
	if each != "" {
		switch {
		case input != "" || data != "":
			return usagef("--each excludes --input and --data")
		case wait:
			return usagef("--each excludes --wait: wait for the jobs with \"conveyor wait ID\"")
		case req.IdempotencyKey != "":
			return usagef("--each excludes --idempotency-key: a key names one job")
		case len(files) > 0:
			return usagef("--each excludes --file: upload with \"conveyor upload\" and reference the id in each line")
		}
		c, err := e.client(cf)
		if err != nil {
			return err
		}
		return e.submitEach(ctx, c, cf, req, each)
	}
	if req.Input, err = e.readInput(input, data); err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	if len(files) > 0 {
		if req.Input, err = e.attachFiles(ctx, c, req.Input, files); err != nil {
			return err
		}
	}

	if !wait {
		job, err := c.Submit(ctx, req)
		if err != nil {
			return err
		}
		if !cf.json && !e.stdoutTTY {
			// For scripts: the id is what the next command needs.
			fmt.Fprintln(e.stdout, job.ID)
			return nil
		}
		return e.showJob(cf, job)
	}
	var deadline time.Time
	poll := e.waitPoll
	if waitTimeout > 0 {
		deadline = time.Now().Add(waitTimeout.Std())
		poll = min(poll, waitTimeout.Std())
	}
	// Wait briefly in the submit itself: a quick job is done in one round trip.
	job, err := c.Submit(ctx, req, client.Wait(poll))
	if err != nil {
		return err
	}
	if !job.Status.Terminal() {
		fmt.Fprintf(e.stderr, "job %s submitted\n", job.ID)
	}
	return e.await(ctx, c, cf, job.ID, job, waitTimeout.Std(), deadline)
}

// submitEach submits a job like req for each line of the file at path
// ("-": stdin), in batches, and prints their ids (with --json, the jobs).
// Blank lines are skipped; a line that is not JSON is an error before
// anything is submitted.
func (e *env) submitEach(ctx context.Context, c *client.Client, cf *clientFlags, req conveyor.SubmitRequest, path string) error {
	r := e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reading the inputs: %w", err)
		}
		defer f.Close()
		r = f
	}
	var reqs []conveyor.SubmitRequest
	var lines []int // the line number of each request
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return fmt.Errorf("line %d of %s is not valid JSON: %s", n, path, jsonError(line))
		}
		one := req
		one.Input = json.RawMessage(bytes.Clone(line))
		reqs = append(reqs, one)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the inputs: %w", err)
	}
	if len(reqs) == 0 {
		return usagef("--each: %s has no inputs", path)
	}
	var jobs []*conveyor.Job
	for from := 0; from < len(reqs); from += conveyor.MaxBatch {
		to := min(from+conveyor.MaxBatch, len(reqs))
		batch, err := c.SubmitBatch(ctx, reqs[from:to])
		if err != nil {
			if len(jobs) > 0 {
				fmt.Fprintf(e.stderr, "the jobs of lines 1–%d were submitted; the batch from line %d was not\n", lines[from-1], lines[from])
				_ = e.printIDs(cf, jobs)
			}
			return lineOf(err, lines[from:to])
		}
		jobs = append(jobs, batch...)
	}
	return e.printIDs(cf, jobs)
}

// printIDs prints the ids of jobs, one per line, or with --json the jobs.
func (e *env) printIDs(cf *clientFlags, jobs []*conveyor.Job) error {
	if cf.json {
		return printJSON(e.stdout, conveyor.JobList{Jobs: jobs})
	}
	for _, j := range jobs {
		fmt.Fprintln(e.stdout, j.ID)
	}
	return nil
}

// lineOf turns the refused job of a batch, which the error's first
// violation points at (/jobs/N…), into the line of the input file the
// job came from.
func lineOf(err error, lines []int) error {
	var ce *conveyor.Error
	if !errors.As(err, &ce) || len(ce.Details) == 0 {
		return err
	}
	rest, ok := strings.CutPrefix(ce.Details[0].Pointer, "/jobs/")
	if !ok {
		return err
	}
	n, _, _ := strings.Cut(rest, "/")
	i, perr := strconv.Atoi(n)
	if perr != nil || i < 0 || i >= len(lines) {
		return err
	}
	out := *ce
	out.Message = fmt.Sprintf("line %d: %s", lines[i], strings.TrimPrefix(ce.Message, "jobs["+n+"]: "))
	return &out
}

// readInput returns the job input from the --input file or --data, or when
// both are empty from stdin if it is not a terminal, else {}. A missing file
// is an error; invalid JSON in --data a usage error.
func (e *env) readInput(path, data string) (json.RawMessage, error) {
	var (
		b    []byte
		from string
		err  error
	)
	switch {
	case path != "" && data != "":
		return nil, usagef("--input and --data exclude each other")
	case data != "":
		if !json.Valid([]byte(data)) {
			return nil, usagef("--data is not valid JSON: %s", jsonError([]byte(data)))
		}
		return json.RawMessage(data), nil
	case path == "-" || (path == "" && !e.stdinTTY):
		from = "stdin"
		if b, err = io.ReadAll(e.stdin); err != nil {
			return nil, fmt.Errorf("reading the input from stdin: %w", err)
		}
		if path == "" && len(bytes.TrimSpace(b)) == 0 {
			return json.RawMessage(`{}`), nil
		}
	case path != "":
		from = path
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading the input: %w", err)
		}
	default:
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("the input from %s is not valid JSON: %s", from, jsonError(b))
	}
	return json.RawMessage(bytes.TrimSpace(b)), nil
}

// jsonError says what is wrong with the invalid JSON b.
func jsonError(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err.Error()
	}
	return "invalid"
}
