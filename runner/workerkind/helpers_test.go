//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(replayEnv); path != "" {
		os.Exit(replayWorker(path))
	}
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	goleak.VerifyTestMain(m)
}

// recorder is the conformance suite's Recorder, with its log lines as
// "stream: line".
type recorder struct{ runnertest.Recorder }

func (r *recorder) snapshot() ([]string, []conveyor.Progress) {
	var logs []string
	for _, l := range r.Lines() {
		logs = append(logs, l.Stream+": "+l.Text)
	}
	return logs, r.Progresses()
}

// pyEntry is an entry serving testdata/algos.py through the bundled SDK.
func pyEntry(t testing.TB, edit ...func(*config.Algorithm, *Options)) config.Algorithm {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	// Read the modules, so that go test's cache reruns the tests when
	// one changes: only the worker processes import them.
	files, _ := filepath.Glob("testdata/*.py")
	for _, f := range files {
		_, _ = os.ReadFile(f)
	}
	e := config.Algorithm{
		Workers: config.Workers{Max: 1},
		Grace:   conveyor.Duration(2 * time.Second),
	}
	o := Options{Process: spawn.Options{Command: []string{testenv.Python(t), "-m", "conveyor.worker", "algos"}, Dir: dir}}
	for _, f := range edit {
		f(&e, &o)
	}
	e = Entry(e, o)
	e.WithDefaults()
	return e
}

// provision provisions entry and closes its pool when the test ends. It
// returns the handlers by algorithm name.
func provision(t testing.TB, k Kind, entry config.Algorithm) (map[string]runner.Handler, []runner.Served) {
	t.Helper()
	served, err := k.Provision(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	hs := map[string]runner.Handler{}
	for _, s := range served {
		hs[s.Algorithm.Name] = s.Handler
	}
	t.Cleanup(func() {
		for _, s := range served {
			_ = s.Handler.(io.Closer).Close()
		}
	})
	return hs, served
}

func poolOf(h runner.Handler) *pool {
	if b, ok := h.(*batchHandler); ok {
		return b.pool
	}
	return h.(*handler).pool
}

// run runs one attempt with a fresh recorder, bounded by 20s.
func run(t *testing.T, h runner.Handler, alg, input string) (json.RawMessage, error, *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return runCtx(ctx, h, alg, input)
}

func runCtx(ctx context.Context, h runner.Handler, alg, input string) (json.RawMessage, error, *recorder) {
	rec := &recorder{}
	out, err := h.Run(ctx, task(alg, input, rec))
	return out, err, rec
}

// result waits for a Run started in the background to send its error on
// done, and fails the test if it has not within 30s.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s")
		return nil
	}
}

func task(alg, input string, rec *recorder) *runner.Task {
	return &runner.Task{JobID: "job-" + alg, Algorithm: alg, Input: json.RawMessage(input), Attempt: 1, Reporter: rec}
}

func jobError(t *testing.T, err error) *conveyor.JobError {
	t.Helper()
	var je *conveyor.JobError
	if !errors.As(err, &je) {
		t.Fatalf("error = %v (%T), want a *conveyor.JobError", err, err)
	}
	return je
}

// pidOf runs the pid algorithm on the pool of h and returns the pid of the
// worker that ran it.
func pidOf(t *testing.T, h runner.Handler) int {
	t.Helper()
	out, err, _ := run(t, &handler{name: "pid", pool: poolOf(h)}, "pid", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := json.Unmarshal(out, &pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// alive reports whether a process pid exists (and is not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}
