package e2e

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestKill9LosesNoJob kills `conveyor serve` with SIGKILL while jobs are
// queued, running and being submitted, restarts it on the same data dir,
// and checks that every job that was accepted (202) runs to success — the
// interrupted ones in a later attempt.
func TestKill9LosesNoJob(t *testing.T) {
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

	// Slow jobs keep both workers busy, so some are running and some are
	// queued when the kill comes.
	var slow []string
	for range 6 {
		slow = append(slow, p.submit(`{"algorithm":"sleep","input":{"seconds":1}}`))
	}
	// A client keeps submitting until the server is gone.
	var (
		mu       sync.Mutex
		accepted []string
	)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			var j conveyor.Job
			code, err := p.call("POST", "/v1/jobs", fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d}}`, 1000+i), &j)
			if err != nil {
				return // the server died mid-request: this one was never accepted
			}
			if code == 202 {
				mu.Lock()
				accepted = append(accepted, j.ID)
				mu.Unlock()
			}
		}
	}()
	// Kill once a slow job has started, the last is not done, and the
	// client has had a few hundred submits accepted.
	testenv.Eventually(t, "a slow job started, the last not done and 300 submits accepted", func() bool {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		return n > 300 && p.job(slow[len(slow)-1], "").Status != conveyor.StatusSucceeded && p.job(slow[0], "").Status != conveyor.StatusQueued
	})
	p.kill(syscall.SIGKILL)
	select {
	case <-stopped:
	case <-time.After(requestTimeout):
		t.Fatalf("the submitting client still ran %v after the server died", requestTimeout)
	}

	accepted = append(slow, accepted...)
	p2 := serve(t, dir, addr, cfg)
	interrupted := 0
	for _, id := range accepted {
		var j conveyor.Job
		for range 10 {
			if j = p2.job(id, "20s"); j.Status.Terminal() {
				break
			}
		}
		if j.Status != conveyor.StatusSucceeded {
			t.Fatalf("job %s (%s) after restart: %s, error %+v\nlogs:\n%s", id, j.Algorithm, j.Status, j.Error, p2.logs)
		}
		if j.Attempt > 1 {
			interrupted++
		}
	}
	if interrupted == 0 {
		t.Fatal("no job was interrupted: the kill came too late to test anything")
	}
	// The job index, killed mid-write too, resumed from its last commit
	// and lists every accepted job, once.
	testenv.Eventually(t, "the job index to list every accepted job", func() bool {
		listed := map[string]int{}
		cursor := ""
		for {
			var page conveyor.JobPage
			if code, err := p2.call("GET", "/v1/jobs?limit=500&status=succeeded"+cursor, "", &page); err != nil || code != 200 {
				return false
			}
			for _, j := range page.Jobs {
				listed[j.ID]++
			}
			if page.NextCursor == "" {
				break
			}
			cursor = "&cursor=" + page.NextCursor
		}
		for _, id := range accepted {
			if listed[id] != 1 {
				return false
			}
		}
		return true
	})
	t.Logf("%d accepted jobs all succeeded after kill -9 and restart; %d were interrupted mid-attempt", len(accepted), interrupted)
}
