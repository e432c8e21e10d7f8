package e2e

import (
	"strconv"
	"syscall"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestGracefulShutdown sends SIGTERM while jobs run: a job that finishes
// within shutdown_grace finishes; one that does not is handed back to the
// queue and runs again after a restart, as its next attempt.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfg := "shutdown_grace: 1s\nheartbeat: 300ms\nalgorithms: [{kind: go, workers: {max: 2}}]\n"
	p := serve(t, dir, addr, cfg)
	submit := func(seconds float64) string {
		var j conveyor.Job
		body := `{"algorithm":"sleep","input":{"seconds":` + strconv.FormatFloat(seconds, 'g', -1, 64) + `}}`
		if code, err := p.call("POST", "/v1/jobs", body, &j); err != nil || code != 202 {
			t.Fatalf("submit: %d %v", code, err)
		}
		return j.ID
	}
	short, long := submit(0.5), submit(3)
	testenv.Eventually(t, "both jobs to run", func() bool {
		return p.job(short, "").Status == conveyor.StatusRunning && p.job(long, "").Status == conveyor.StatusRunning
	})
	p.kill(syscall.SIGTERM)

	p2 := serve(t, dir, addr, cfg)
	if j := p2.job(short, "20s"); j.Status != conveyor.StatusSucceeded || j.Attempt != 1 {
		t.Fatalf("short job: %s attempt %d, want succeeded in attempt 1 (finished within the grace)", j.Status, j.Attempt)
	}
	var j conveyor.Job
	for range 5 {
		if j = p2.job(long, "20s"); j.Status.Terminal() {
			break
		}
	}
	if j.Status != conveyor.StatusSucceeded || j.Attempt != 2 {
		t.Fatalf("long job: %s attempt %d, want succeeded in attempt 2 (handed back at shutdown)\n%s", j.Status, j.Attempt, p.logs)
	}
}
