package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestKill9DelayedJobs kills `conveyor serve` with SIGKILL while delayed
// jobs are scheduled — some due while it is down, some after its restart
// — and checks that each runs exactly once, never before its time.
func TestKill9DelayedJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfg := `
heartbeat: 300ms
algorithms:
  - {kind: go, workers: {max: 2}}
`
	p := serve(t, dir, addr, cfg)
	var ids []string
	for i := range 20 {
		key := ""
		if i%4 == 0 { // some stored first, under an idempotency key
			key = fmt.Sprintf(`,"idempotency_key":"k%d"`, i)
		}
		ids = append(ids, p.submit(fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"delay":"%dms"%s}`, 100+i, 500+200*i, key)))
	}
	for _, id := range ids {
		if j := p.job(id, ""); j.Status != conveyor.StatusScheduled {
			t.Fatalf("job %s is %s, want scheduled", id, j.Status)
		}
	}
	p.kill(syscall.SIGKILL)
	time.Sleep(2 * time.Second) // the first few come due while nothing runs
	p2 := serve(t, dir, addr, cfg)
	for _, id := range ids {
		var j conveyor.Job
		for range 10 {
			if j = p2.job(id, "20s"); j.Status.Terminal() {
				break
			}
		}
		if j.Status != conveyor.StatusSucceeded || j.Attempt != 1 {
			t.Errorf("job %s: %s after %d attempts, want succeeded once", id, j.Status, j.Attempt)
			continue
		}
		if j.RunAt == nil || j.StartedAt.Before(*j.RunAt) {
			t.Errorf("job %s started at %v, before its time %v", id, j.StartedAt, j.RunAt)
		}
	}
}
