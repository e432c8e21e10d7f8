//go:build unix

package execkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

// recorder is the conformance suite's Recorder, with views of what it
// recorded that these tests compare.
type recorder struct{ *runnertest.Recorder }

type logLine struct{ stream, line string }

func newRecorder() *recorder { return &recorder{runnertest.NewRecorder()} }

func (r *recorder) snapshot() ([]logLine, []conveyor.Progress) {
	var logs []logLine
	for _, l := range r.Lines() {
		logs = append(logs, logLine{l.Stream, l.Text})
	}
	return logs, r.Progresses()
}

// logValue returns the rest of the first "log" line that starts with
// prefix, and whether one has come yet.
func (r *recorder) logValue(prefix string) (string, bool) {
	logs, _ := r.snapshot()
	for _, l := range logs {
		if v, ok := strings.CutPrefix(l.line, prefix); ok && l.stream == "log" {
			return v, true
		}
	}
	return "", false
}

// waitLog waits until a "log" line starting with prefix arrives and
// returns the rest of it.
func (r *recorder) waitLog(t *testing.T, prefix string) string {
	t.Helper()
	var v string
	r.WaitFor(t, "a log line "+prefix, func() (ok bool) { v, ok = r.logValue(prefix); return ok })
	return v
}

// newHandler provisions an exec algorithm named "job" running command from
// testdata, with the given changes to its entry.
func newHandler(t *testing.T, command []string, edit ...func(*config.Algorithm, *Options)) *handler {
	t.Helper()
	common, opt := config.Algorithm{Name: "job"}, Options{Command: command}
	for _, f := range edit {
		f(&common, &opt)
	}
	entry := Entry(common, opt)
	served, err := Kind{}.Provision(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	return served[0].Handler.(*handler)
}

func pyScript(t *testing.T) *handler {
	return newHandler(t, []string{testenv.Python(t), "testdata/script.py"})
}

// run runs one attempt with input and a fresh recorder, bounded by a
// generous timeout so that a bug fails the test instead of hanging it.
func run(t *testing.T, h runner.Handler, input string) (json.RawMessage, error, *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := newRecorder()
	out, err := h.Run(ctx, &runner.Task{JobID: "job-1", Algorithm: "job", Input: json.RawMessage(input), Attempt: 1, Reporter: rec})
	return out, err, rec
}

func jobError(t *testing.T, err error) *conveyor.JobError {
	t.Helper()
	var je *conveyor.JobError
	if !errors.As(err, &je) {
		t.Fatalf("error = %v (%T), want a *conveyor.JobError", err, err)
	}
	return je
}

func TestRunOutputAndInput(t *testing.T) {
	input := `{"echo": true, "n": [1, 2.5, "ü"]}`
	out, err, _ := run(t, pyScript(t), input)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ File, Stdin json.RawMessage }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	for name, v := range map[string]json.RawMessage{"CONVEYOR_INPUT file": got.File, "stdin": got.Stdin} {
		if !jsonEqual(t, v, input) {
			t.Errorf("input from %s = %s, want %s", name, v, input)
		}
	}
}

func jsonEqual(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func TestRunReports(t *testing.T) {
	out, err, rec := run(t, newHandler(t, []string{"sh", "testdata/reports.sh"}), `{}`)
	if err != nil || string(out) != `{"ok": true}` {
		t.Fatalf("Run = %s, %v; want {\"ok\": true}", out, err)
	}
	logs, progress := rec.snapshot()
	wantProgress := []conveyor.Progress{{Percent: 12.5, Message: "loading"}, {Percent: 100}}
	if fmt.Sprint(progress) != fmt.Sprint(wantProgress) {
		t.Errorf("progress = %v, want %v", progress, wantProgress)
	}
	// stdout and stderr are read concurrently: compare each stream alone.
	var stdout []logLine
	var stderr []string
	for _, l := range logs {
		if l.stream == "stderr" {
			stderr = append(stderr, l.line)
		} else {
			stdout = append(stdout, l)
		}
	}
	wantStdout := []logLine{{"log", "hello log"}, {"stdout", "just a line"}, {"stdout", "PROGRESS: 250 too far"}}
	if fmt.Sprint(stdout) != fmt.Sprint(wantStdout) {
		t.Errorf("stdout logs = %q, want %q", stdout, wantStdout)
	}
	if fmt.Sprint(stderr) != "[oops]" {
		t.Errorf("stderr logs = %q, want [oops]", stderr)
	}
}

func TestRunFailures(t *testing.T) {
	manyLines := make([]string, 30)
	for i := range manyLines {
		manyLines[i] = fmt.Sprintf("%q", fmt.Sprint("trace ", i))
	}
	tests := []struct {
		name       string
		input      string
		typ, msg   string
		detail     string // contained in Detail
		notInTail  string // not contained in Detail
		wantStderr bool
	}{
		{
			name:  "ERROR line",
			input: `{"stderr": ["reading x.csv"], "stdout": ["ERROR: no such file: x.csv"], "exit": 1}`,
			typ:   conveyor.ErrorTypeError, msg: "no such file: x.csv", detail: "reading x.csv",
		},
		{
			name:  "ERROR line wins over OUTPUT and exit 0",
			input: `{"stdout": ["OUTPUT: 1", "ERROR: bad", "ERROR: worse"]}`,
			typ:   conveyor.ErrorTypeError, msg: "bad",
		},
		{
			name:  "non-zero exit keeps the stderr tail",
			input: `{"stderr": [` + strings.Join(manyLines, ",") + `], "exit": 3}`,
			typ:   conveyor.ErrorTypeError, msg: "exit status 3", detail: "trace 10\ntrace 11", notInTail: "trace 9\n",
		},
		{
			name:  "OUTPUT then non-zero exit",
			input: `{"stdout": ["OUTPUT: {}"], "exit": 2}`,
			typ:   conveyor.ErrorTypeError, msg: "exit status 2 after an OUTPUT: line",
		},
		{
			name:  "invalid OUTPUT",
			input: `{"stdout": ["OUTPUT: {not json"]}`,
			typ:   conveyor.ErrorTypeError, msg: "OUTPUT: line is not valid JSON",
		},
		{
			name:  "no OUTPUT",
			input: `{"stdout": ["all done"]}`,
			typ:   conveyor.ErrorTypeError, msg: "exited 0 without an OUTPUT: line",
		},
		{
			name:  "killed by a signal",
			input: `{"stderr": ["about to crash"], "signal": 9}`,
			typ:   conveyor.ErrorTypeCrashed, msg: "killed by signal 9", detail: "about to crash",
		},
		{
			name:  "OUTPUT line over the limit",
			input: fmt.Sprintf(`{"stdout": ["OUTPUT: \"%s\""]}`, strings.Repeat("y", maxLineBytes)),
			typ:   conveyor.ErrorTypeError, msg: "OUTPUT: line is longer than",
		},
	}
	h := pyScript(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err, _ := run(t, h, tt.input)
			if out != nil {
				t.Errorf("output = %s, want none", out)
			}
			je := jobError(t, err)
			if je.Type != tt.typ || !strings.HasPrefix(je.Message, tt.msg) {
				t.Errorf("error = %q %q, want %q %q…", je.Type, je.Message, tt.typ, tt.msg)
			}
			if !strings.Contains(je.Detail, tt.detail) || (tt.notInTail != "" && strings.Contains(je.Detail, tt.notInTail)) {
				t.Errorf("detail = %q, want it to contain %q and not %q", je.Detail, tt.detail, tt.notInTail)
			}
		})
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Setenv("SECRET_TOKEN", "hunter2")
	t.Setenv("LANG", "C.UTF-8")
	tmpParent, workDir := t.TempDir(), t.TempDir()
	script, err := filepath.Abs("testdata/script.py")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, []string{testenv.Python(t), script}, func(_ *config.Algorithm, o *Options) {
		o.Dir = workDir
		o.Env = map[string]string{"MODEL_PATH": "/models/m.json", "LANG": "en_US.UTF-8", "TMPDIR": tmpParent}
	})
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	out, err := h.Run(ctx, &runner.Task{
		JobID: "01J0B", Algorithm: "job", Input: json.RawMessage(`{"env": true}`),
		Attempt: 2, Deadline: deadline, Reporter: newRecorder(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Env       map[string]string
		Cwd       string
		DirMode   int `json:"dir_mode"`
		InputMode int `json:"input_mode"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	tmp := got.Env["CONVEYOR_TMPDIR"]
	if filepath.Dir(tmp) != tmpParent {
		t.Errorf("CONVEYOR_TMPDIR = %q, want a directory in the entry's TMPDIR %q", tmp, tmpParent)
	}
	want := map[string]string{
		"PATH":            os.Getenv("PATH"),
		"LANG":            "en_US.UTF-8", // the entry's env wins
		"MODEL_PATH":      "/models/m.json",
		"TMPDIR":          tmp,
		"CONVEYOR_TMPDIR": tmp,
		"CONVEYOR_INPUT":  filepath.Join(tmp, "input.json"),
		// Run outside a runner, with no Task.OutputDir: one of its own.
		"CONVEYOR_OUTPUT_DIR": filepath.Join(tmp, "output"),
		"CONVEYOR_JOB_ID":     "01J0B",
		"CONVEYOR_ALGORITHM":  "job",
		"CONVEYOR_ATTEMPT":    "2",
		"CONVEYOR_DEADLINE":   "2030-01-02T03:04:05Z",
	}
	if home, ok := os.LookupEnv("HOME"); ok {
		want["HOME"] = home
	}
	delete(got.Env, "LC_CTYPE") // python3 may set it for itself (PEP 538)
	if fmt.Sprint(got.Env) != fmt.Sprint(want) {
		t.Errorf("environment = %v\nwant %v", got.Env, want)
	}
	if got.Cwd != workDir {
		t.Errorf("working directory = %q, want %q", got.Cwd, workDir)
	}
	if got.DirMode != 0o700 || got.InputMode != 0o600 {
		t.Errorf("modes: dir %o, input %o; want 700, 600", got.DirMode, got.InputMode)
	}
	assertEmptyDir(t, tmpParent)
}

// assertEmptyDir fails unless dir exists and is empty: the attempts whose
// temporary directories were made in it removed them.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("%s: %d entries, %v; want it empty", dir, len(entries), err)
	}
}

// withTmp makes the attempts' temporary directories in a test directory.
func withTmp(dir string) func(*config.Algorithm, *Options) {
	return func(_ *config.Algorithm, o *Options) { o.Env = map[string]string{"TMPDIR": dir} }
}

func TestRunRemovesTempDirOnFailure(t *testing.T) {
	dir := t.TempDir()
	h := newHandler(t, []string{testenv.Python(t), "testdata/script.py"}, withTmp(dir))
	for _, input := range []string{`{"exit": 1}`, `{"signal": 9}`, `{"stdout": ["OUTPUT: nope"]}`} {
		if _, err, _ := run(t, h, input); err == nil {
			t.Errorf("Run(%s) succeeded, want an error", input)
		}
	}
	assertEmptyDir(t, dir)
}

func TestRunLongLines(t *testing.T) {
	h := pyScript(t)
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			in := fmt.Sprintf(`{"long": {"stream": %q, "bytes": %d}, "echo": true}`, stream, 3*maxLineBytes)
			out, err, rec := run(t, h, in)
			if err != nil || out == nil {
				t.Fatalf("Run = %.40s…, %v; want an output", out, err)
			}
			logs, _ := rec.snapshot()
			if len(logs) != 1 || logs[0].stream != stream || len(logs[0].line) > maxLineBytes+100 ||
				!strings.HasSuffix(logs[0].line, fmt.Sprintf("[line truncated: %d more bytes dropped]", 2*maxLineBytes)) {
				t.Errorf("logs: %d lines, want one truncated %s line", len(logs), stream)
			}
		})
	}
}
