package e2e

import (
	"syscall"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestKill9KeepsMutexOrder kills `conveyor serve` while the holder of a
// mutex key runs, restarts it, and checks that the holder runs again (its
// next attempt keeps the key) and the jobs behind it follow, one at a
// time, in order: a dead runner does not leave the key stuck.
func TestKill9KeepsMutexOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfg := `
heartbeat: 300ms
algorithms:
  - {kind: go, workers: {max: 4}}
`
	p := serve(t, dir, addr, cfg)
	var ids []string
	for range 3 {
		ids = append(ids, p.submit(`{"algorithm":"sleep","input":{"seconds":1},"mutex":"the-key"}`))
	}
	p.awaitStatus(ids[0], conveyor.StatusRunning)
	if st := p.job(ids[1], "").Status; st != conveyor.StatusQueued {
		t.Fatalf("the second job is %s while the first holds the key", st)
	}
	p.kill(syscall.SIGKILL)

	p2 := serve(t, dir, addr, cfg)
	var jobs []conveyor.Job
	for _, id := range ids {
		j := p2.job(id, "30s")
		if j.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s: %s %+v", id, j.Status, j.Error)
		}
		jobs = append(jobs, j)
	}
	if jobs[0].Attempt != 2 {
		t.Errorf("the interrupted holder finished in attempt %d, want 2", jobs[0].Attempt)
	}
	for i := 1; i < len(jobs); i++ {
		if jobs[i].StartedAt.Before(*jobs[i-1].FinishedAt) {
			t.Errorf("job %d started at %v, before job %d finished at %v", i, jobs[i].StartedAt, i-1, jobs[i-1].FinishedAt)
		}
	}
}
