package app

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestHeldJobStartsWhenItRuns: a job a worker process holds behind a
// running one (prefetch) starts when the process starts it, not when the
// runner handed it over: its started_at and duration leave out the wait.
func TestHeldJobStartsWhenItRuns(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	cfg, err := config.Parse(fmt.Appendf(nil, `
http: {addr: "127.0.0.1:0"}
data_dir: %q
shutdown_grace: 5s
algorithms:
  - {kind: worker, command: [%q, -m, conveyor.worker, mymodule], dir: %q, workers: {max: 1}}
`, t.TempDir(), python, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	// Counting in 10 ms steps: the first takes 3 s at least, the second
	// 0.5 s.
	first := s.submit(map[string]any{"algorithm": "slow_count", "input": map[string]any{"n": 300}}, "", http.StatusAccepted).ID
	testenv.Eventually(t, "the first job to run", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+first, nil, &j)
		return j.Status == conveyor.StatusRunning && j.Progress != nil
	})
	second := s.submit(map[string]any{"algorithm": "slow_count", "input": map[string]any{"n": 50}}, "", http.StatusAccepted).ID
	// One process of one slot: the second job is running while the first
	// does only if the process holds it (prefetch).
	testenv.Eventually(t, "the process to hold the second job", func() bool {
		var a, b conveyor.Job
		s.do("GET", "/v1/jobs/"+second, nil, &b)
		s.do("GET", "/v1/jobs/"+first, nil, &a)
		return b.Status == conveyor.StatusRunning && a.Status == conveyor.StatusRunning
	})
	var a, b conveyor.Job
	for _, w := range []struct {
		id string
		j  *conveyor.Job
	}{{first, &a}, {second, &b}} {
		testenv.Eventually(t, "the jobs to succeed", func() bool {
			s.do("GET", "/v1/jobs/"+w.id, nil, w.j)
			return w.j.Status == conveyor.StatusSucceeded
		})
	}
	if b.StartedAt.Before(a.StartedAt.Add(2500 * time.Millisecond)) {
		t.Errorf("the held job started at %v, %v after the first (which ran %v): the wait counts as its run",
			b.StartedAt, b.StartedAt.Sub(*a.StartedAt), a.FinishedAt.Sub(*a.StartedAt))
	}
	if d := b.FinishedAt.Sub(*b.StartedAt); d > 2*time.Second {
		t.Errorf("the held job ran %v, the first %v: its duration counts its wait", d, a.FinishedAt.Sub(*a.StartedAt))
	}
}
