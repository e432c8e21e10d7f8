package app

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// TestWorkerStartupNotCharged runs two jobs at once on a worker pool with
// one warm process: the second waits while a new process loads its model
// (1.5 s), longer than its timeout (1 s), and still succeeds: start-up is
// not charged to a job's timeout.
func TestWorkerStartupNotCharged(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = []config.Algorithm{workerkind.Entry(config.Algorithm{
		Workers:     config.Workers{Min: 1, Max: 2},
		Timeout:     conveyor.Duration(time.Second),
		MaxAttempts: 1,
		Grace:       conveyor.Duration(300 * time.Millisecond),
	}, workerkind.Options{
		Process: spawn.Options{Command: []string{testenv.Python(t), "-m", "conveyor.worker", "slowstart"}, Env: map[string]string{"PYTHONPATH": dir}},
	})}
	cfg.WithDefaults()
	s := startServer(t, cfg)
	// A holds the warm process for 3 s (its own timeout is longer); B needs
	// a second process, which takes 1.5 s to load, and has 1 s to run.
	a := s.submit(map[string]any{"algorithm": "quick", "input": map[string]any{"sleep": 3}, "timeout": "10s"}, "", http.StatusAccepted)
	b := s.submit(map[string]any{"algorithm": "quick", "input": map[string]any{}}, "", http.StatusAccepted)
	for _, id := range []string{a.ID, b.ID} {
		if j := s.wait(id); j.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s: %s %+v", id, j.Status, j.Error)
		}
	}
	// The timeout still bounds the work itself.
	c := s.submit(map[string]any{"algorithm": "quick", "input": map[string]any{"sleep": 5}}, "", http.StatusAccepted)
	if j := s.wait(c.ID); j.Status != conveyor.StatusFailed || j.Error == nil || j.Error.Type != conveyor.ErrorTypeTimeout {
		t.Fatalf("slow job: %s %+v, want a timeout", j.Status, j.Error)
	}
}
