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
	"sync"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

func concurrency(n int) func(*config.Algorithm, *Options) {
	return func(e *config.Algorithm, o *Options) { o.Concurrency = &n }
}

// started runs a job of alg in the background with its own recorder and
// id; its error arrives on done.
type started struct {
	id     string
	rec    *recorder
	cancel context.CancelFunc
	out    json.RawMessage
	err    error
	done   chan struct{}
}

func start(h runner.Handler, id, alg, input string) *started {
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{id: id, rec: &recorder{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := task(alg, input, s.rec)
		t.JobID = id
		s.out, s.err = h.Run(ctx, t)
	}()
	return s
}

func TestConcurrencyEightAsyncJobsOnOneProcessOneCanceled(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, concurrency(8)))
	pl := poolOf(hs["anap"])
	path := filepath.Join(t.TempDir(), "go")
	input := fmt.Sprintf(`{"path": %q}`, path)
	var jobs []*started
	for i := range 8 {
		jobs = append(jobs, start(hs["anap"], fmt.Sprintf("job-%d", i), "anap", input))
	}
	t.Cleanup(func() {
		_ = os.WriteFile(path, nil, 0o600)
		for _, j := range jobs {
			j.cancel()
			<-j.done
		}
	})
	// Every job reports progress while none can finish: eight at once.
	testenv.Eventually(t, "eight jobs running at once", func() bool {
		for _, j := range jobs {
			if _, p := j.rec.snapshot(); len(p) == 0 {
				return false
			}
		}
		return true
	})
	if n, _ := pl.size(); n != 1 {
		t.Fatalf("%d processes, want one holding the eight jobs", n)
	}
	jobs[3].cancel()
	<-jobs[3].done
	if !errors.Is(jobs[3].err, context.Canceled) || !strings.Contains(jobs[3].err.Error(), "the worker stopped the job") {
		t.Fatalf("canceled job: %v", jobs[3].err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var pids []string
	for i, j := range jobs {
		<-j.done
		if i == 3 {
			continue
		}
		if j.err != nil {
			t.Fatalf("%s: %v", j.id, j.err)
		}
		pids = append(pids, string(j.out))
		logs, _ := j.rec.snapshot()
		if !slices.Contains(logs, "stdout: start "+j.id) {
			t.Errorf("%s: logs %q, want its own print", j.id, logs)
		}
	}
	if len(slices.Compact(pids)) != 1 {
		t.Errorf("pids %v: want one process", pids)
	}
}

func TestConcurrencyCrashFailsEveryJobOfTheProcess(t *testing.T) {
	hs, _ := provision(t, Kind{}, pyEntry(t, concurrency(4)))
	path := filepath.Join(t.TempDir(), "never")
	input := fmt.Sprintf(`{"path": %q}`, path)
	var jobs []*started
	for i := range 3 {
		jobs = append(jobs, start(hs["anap"], fmt.Sprintf("job-%d", i), "anap", input))
	}
	testenv.Eventually(t, "three jobs running", func() bool {
		for _, j := range jobs {
			if _, p := j.rec.snapshot(); len(p) == 0 {
				return false
			}
		}
		return true
	})
	jobs = append(jobs, start(hs["crash"], "job-crash", "crash", `{}`))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			<-j.done
			if je := jobError(t, j.err); je.Type != conveyor.ErrorTypeCrashed || !strings.Contains(je.Detail, "about to crash") {
				t.Errorf("%s: %+v, want crashed with the stderr tail", j.id, je)
			}
		})
	}
	wg.Wait()
	// A new process takes the jobs that follow.
	if out, err, _ := run(t, hs["word_count"], "word_count", `{"text": "a"}`); err != nil {
		t.Fatalf("after the crash: %s, %v", out, err)
	}
}

func TestConcurrencyConfig(t *testing.T) {
	_, err := Kind{}.Provision(context.Background(), pyEntry(t, concurrency(0)))
	if err == nil || !strings.Contains(err.Error(), "concurrency must be at least 1") {
		t.Errorf("concurrency 0: %v", err)
	}
	// A worker that does not confirm the concurrency in its hello fails
	// its start: it would be sent jobs it cannot hold.
	if err := checkHello(&workerproto.Hello{Protocol: 1}, nil, 2); err == nil || !strings.Contains(err.Error(), "concurrency: 2") {
		t.Errorf("hello without concurrency: %v", err)
	}
	if got := environ(map[string]string{}, 3, 3, "", errors.New("no sdk")); !slices.Contains(got, "CONVEYOR_CONCURRENCY=3") || !slices.Contains(got, "CONVEYOR_PREFETCH=3") {
		t.Errorf("environ = %v", got)
	}
	if got := environ(map[string]string{}, 1, 0, "", errors.New("no sdk")); slices.ContainsFunc(got, func(v string) bool {
		return strings.HasPrefix(v, "CONVEYOR_PREFETCH=") || strings.HasPrefix(v, "CONVEYOR_CONCURRENCY=")
	}) {
		t.Errorf("environ without concurrency or prefetch = %v", got)
	}
}
