//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
)

// batchEntry is an entry serving testdata/batchalgos.py.
func batchEntry(t *testing.T, edit ...func(*config.Algorithm, *Options)) config.Algorithm {
	module := func(_ *config.Algorithm, o *Options) { o.Process.Command[len(o.Process.Command)-1] = "batchalgos" }
	return pyEntry(t, append([]func(*config.Algorithm, *Options){module}, edit...)...)
}

// startAll starts a job of alg on h for each input, at once, with ids
// job-0…, and makes the test wait for them all at its end. The batch
// algorithms of testdata/batchalgos.py take up to 4 jobs and wait 5 s for a
// batch to fill, so that four jobs started together make one batch.
func startAll(t *testing.T, h runner.Handler, alg string, inputs ...string) []*started {
	t.Helper()
	var jobs []*started
	for i, in := range inputs {
		jobs = append(jobs, start(h, fmt.Sprintf("job-%d", i), alg, in))
	}
	t.Cleanup(func() {
		for _, j := range jobs {
			j.cancel()
			<-j.done
		}
	})
	for _, j := range jobs {
		<-j.done
	}
	return jobs
}

type measured struct {
	Len, Batch, PID int
}

func TestBatchJobsKeepTheirOwnOutputsErrorsAndLogs(t *testing.T) {
	hs, served := provision(t, Kind{}, batchEntry(t))
	h := hs["measure"]
	for _, s := range served {
		if s.Algorithm.Name == "measure" && string(s.Algorithm.InputSchema) != `{"type":"string"}` {
			t.Errorf("input schema %s, want the item type's", s.Algorithm.InputSchema)
		}
	}
	if b, ok := h.(runner.Batcher); !ok || b.BatchSize() != 8 {
		t.Fatalf("handler %T: want a Batcher of twice max_size", h)
	}
	inputs := []string{`"a"`, `"bb"`, `"boom"`, `"dddd"`, `"e"`, `"ff"`, `"ggg"`, `"hhhh"`}
	jobs := startAll(t, h, "measure", inputs...)
	var pid int
	for i, j := range jobs {
		if i == 2 {
			je := jobError(t, j.err)
			if je.Message != "ValueError: cannot measure boom" || !conveyor.IsPermanent(j.err) {
				t.Errorf("job-2: %v, want its own permanent ValueError", j.err)
			}
		} else {
			var m measured
			if j.err != nil || json.Unmarshal(j.out, &m) != nil {
				t.Fatalf("%s: %s, %v", j.id, j.out, j.err)
			}
			var in string
			_ = json.Unmarshal([]byte(inputs[i]), &in)
			if m.Len != len(in) || m.Batch != 4 {
				t.Errorf("%s: %+v, want len %d in a batch of 4", j.id, m, len(in))
			}
			if pid == 0 {
				pid = m.PID
			} else if m.PID != pid {
				t.Errorf("%s ran on pid %d, others on %d", j.id, m.PID, pid)
			}
		}
		// What the batch printed is a line of each of its jobs.
		if logs, _ := j.rec.snapshot(); !slices.Contains(logs, "stdout: batch of 4") {
			t.Errorf("%s: logs %q, want the batch's print", j.id, logs)
		}
	}
}

func TestBatchFailsAsOneAttempt(t *testing.T) {
	hs, _ := provision(t, Kind{}, batchEntry(t))
	h := hs["measure"]
	// An exception fails every job of the batch, each with the
	// exception's retryable flag: the runner retries each on its own.
	for _, j := range startAll(t, h, "measure", `"a"`, `"raise"`, `"c"`, `"d"`) {
		je := jobError(t, j.err)
		if je.Message != "RetryableError: model not ready" || conveyor.IsPermanent(j.err) {
			t.Errorf("%s: %v (permanent %v), want the batch's retryable error", j.id, j.err, conveyor.IsPermanent(j.err))
		}
	}
	// A list of the wrong length fails every job with that message.
	for _, j := range startAll(t, h, "measure", `"a"`, `"short"`, `"c"`, `"d"`) {
		je := jobError(t, j.err)
		if je.Message != "batch_length: measure returned 3 outputs for a batch of 4 inputs (a batch handler returns one output, or an Exception, per input)" || !conveyor.IsPermanent(j.err) {
			t.Errorf("%s: %v, want the wrong length, for good", j.id, j.err)
		}
	}
}

func TestBatchCrashFailsEveryJob(t *testing.T) {
	hs, _ := provision(t, Kind{}, batchEntry(t))
	h := hs["measure"]
	for _, j := range startAll(t, h, "measure", `"a"`, `"crash"`, `"c"`, `"d"`) {
		je := jobError(t, j.err)
		if je.Type != conveyor.ErrorTypeCrashed || !strings.Contains(je.Message, "exited with status 5 while running the job's batch of 4") {
			t.Errorf("%s: %+v, want crashed", j.id, je)
		}
	}
	// A new worker takes the next batch.
	for _, j := range startAll(t, h, "measure", `"a"`, `"b"`, `"c"`, `"d"`) {
		if j.err != nil {
			t.Errorf("%s after the crash: %v", j.id, j.err)
		}
	}
}

// holdAll starts four jobs of alg (hold_batch or stubborn), one batch
// waiting for path, and waits until all four report progress.
func holdAll(t *testing.T, h runner.Handler, alg, path string) []*started {
	t.Helper()
	input := fmt.Sprintf("%q", path)
	var jobs []*started
	for i := range 4 {
		jobs = append(jobs, start(h, fmt.Sprintf("job-%d", i), alg, input))
	}
	t.Cleanup(func() {
		_ = os.WriteFile(path, nil, 0o600)
		for _, j := range jobs {
			j.cancel()
			<-j.done
		}
	})
	testenv.Eventually(t, "the batch running", func() bool {
		for _, j := range jobs {
			if _, p := j.rec.snapshot(); len(p) == 0 {
				return false
			}
		}
		return true
	})
	return jobs
}

func TestBatchCancelOneJobTheOthersGoOn(t *testing.T) {
	hs, _ := provision(t, Kind{}, batchEntry(t))
	h := hs["hold_batch"]
	path := filepath.Join(t.TempDir(), "go")
	jobs := holdAll(t, h, "hold_batch", path)
	jobs[1].cancel()
	<-jobs[1].done
	if !errors.Is(jobs[1].err, context.Canceled) {
		t.Fatalf("canceled job: %v", jobs[1].err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pids := map[string]bool{}
	for i, j := range jobs {
		if i == 1 {
			continue
		}
		<-j.done
		if j.err != nil {
			t.Fatalf("%s: %v", j.id, j.err)
		}
		pids[string(j.out)] = true
	}
	if len(pids) != 1 {
		t.Errorf("pids %v, want the batch's one", pids)
	}
	if n, _ := poolOf(h).size(); n != 1 {
		t.Errorf("%d processes, want the one that ran the batch", n)
	}
}

func TestBatchCancelEveryJobStopsTheBatch(t *testing.T) {
	hs, _ := provision(t, Kind{}, batchEntry(t))
	h := hs["hold_batch"]
	pid := pidOf(t, h)
	jobs := holdAll(t, h, "hold_batch", filepath.Join(t.TempDir(), "never"))
	for _, j := range jobs {
		j.cancel()
	}
	for _, j := range jobs {
		<-j.done
		if !errors.Is(j.err, context.Canceled) {
			t.Errorf("%s: %v", j.id, j.err)
		}
	}
	// The worker saw every job canceled and ended the batch: it is free
	// for the next job, not killed.
	if again := pidOf(t, h); again != pid {
		t.Errorf("worker %d replaced by %d: the batch was not stopped by the worker", pid, again)
	}
}

func TestBatchIgnoringCancelsIsKilledAfterGrace(t *testing.T) {
	hs, _ := provision(t, Kind{}, batchEntry(t))
	h := hs["stubborn"]
	pid := pidOf(t, h)
	jobs := holdAll(t, h, "stubborn", filepath.Join(t.TempDir(), "never"))
	for _, j := range jobs {
		j.cancel()
	}
	// Each Run returns at once; the worker, which ignores the cancels,
	// is killed once the grace period has passed, and replaced.
	for _, j := range jobs {
		<-j.done
		if !errors.Is(j.err, context.Canceled) {
			t.Errorf("%s: %v", j.id, j.err)
		}
	}
	testenv.Eventually(t, "the stubborn worker killed", func() bool { return !alive(pid) })
	if again := pidOf(t, h); again == pid {
		t.Errorf("worker %d still serves", pid)
	}
	if logs, _ := jobs[0].rec.snapshot(); slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "crashed") }) {
		t.Errorf("a canceled job's log tells of a crash: %q", logs)
	}
}

func TestBatchSettingsOverrideTheWorkers(t *testing.T) {
	zero := conveyor.Duration(0)
	entry := batchEntry(t, func(_ *config.Algorithm, o *Options) {
		o.Algorithms = map[string]AlgorithmSettings{"measure": {Batch: &BatchSettings{MaxSize: 2, MaxWait: &zero}}}
	})
	hs, _ := provision(t, Kind{}, entry)
	if b := hs["measure"].(*batchHandler); b.maxSize != 2 || b.maxWait != 0 || b.BatchSize() != 4 {
		t.Fatalf("batch handler: max_size %d, max_wait %v", b.maxSize, b.maxWait)
	}
	for _, j := range startAll(t, hs["measure"], "measure", `"a"`, `"b"`, `"c"`, `"d"`) {
		var m measured
		if j.err != nil || json.Unmarshal(j.out, &m) != nil || m.Batch > 2 {
			t.Errorf("%s: %s, %v: want a batch of at most 2", j.id, j.out, j.err)
		}
	}

	entry = batchEntry(t, func(_ *config.Algorithm, o *Options) {
		o.Algorithms = map[string]AlgorithmSettings{"pid": {Batch: &BatchSettings{MaxSize: 2}}}
	})
	if _, err := (Kind{}).Provision(context.Background(), entry); err == nil || !strings.Contains(err.Error(), "algorithms.pid.batch: pid does not run in batches") {
		t.Fatalf("batch settings for a single-job algorithm: %v", err)
	}
}

func TestBatchWithoutListParameterFailsTheStart(t *testing.T) {
	entry := pyEntry(t, func(e *config.Algorithm, o *Options) { o.Process.Command[len(o.Process.Command)-1] = "bad_batch" })
	_, err := Kind{}.Provision(context.Background(), entry)
	if err == nil || !strings.Contains(err.Error(), "@conveyor.batch needs a function that takes a list of inputs") ||
		!strings.Contains(err.Error(), "embed has no list parameter") {
		t.Fatalf("Provision: %v", err)
	}
}
