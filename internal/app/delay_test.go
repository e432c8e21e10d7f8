package app

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/gateway"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestDelayedJob: a job submitted with delay is scheduled, then runs once
// its time comes — not before; run_at in the past runs at once; the
// shorthand route takes ?delay=; lists and counts see scheduled jobs.
func TestDelayedJob(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	submitted := time.Now()
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "delay": "1500ms", "labels": map[string]string{"k": "delayed"}}, "", 202)
	if j.Status != conveyor.StatusScheduled || j.RunAt == nil {
		t.Fatalf("submitted with delay: status %s, run_at %v; want scheduled with run_at", j.Status, j.RunAt)
	}
	if d := j.RunAt.Sub(j.CreatedAt); d != 1500*time.Millisecond {
		t.Errorf("run_at - created_at = %v, want 1.5s", d)
	}
	var page conveyor.JobPage
	s.do("GET", "/v1/jobs?status=scheduled&label=k=delayed", nil, &page)
	if len(page.Jobs) != 1 || page.Jobs[0].ID != j.ID {
		t.Errorf("list of scheduled jobs: %+v, want %s", page.Jobs, j.ID)
	}
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusSucceeded || !strings.Contains(string(done.Output), `"prime":true`) {
		t.Fatalf("delayed job ended %s with %s", done.Status, done.Output)
	}
	if done.StartedAt.Before(*j.RunAt) {
		t.Errorf("started %v, before its time %v", done.StartedAt, j.RunAt)
	}
	t.Logf("started %v after run_at (submitted %v before)", done.StartedAt.Sub(*j.RunAt), j.RunAt.Sub(submitted))

	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	now := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 9}, "run_at": past}, "?wait=10s", 200)
	if now.Status != conveyor.StatusSucceeded || now.RunAt != nil {
		t.Errorf("run_at in the past: %s, run_at %v; want it run at once", now.Status, now.RunAt)
	}

	var short conveyor.Job
	resp := s.do("POST", "/v1/algorithms/is_prime/jobs?delay=1h", `{"n": 11}`, &short)
	if resp.StatusCode != 202 || short.Status != conveyor.StatusScheduled {
		t.Fatalf("shorthand ?delay=1h: %d %s", resp.StatusCode, short.Status)
	}
	var stats gateway.Stats
	s.do("GET", "/v1/stats", nil, &stats)
	for _, a := range stats.Algorithms {
		if a.Name == "is_prime" && a.Counts[conveyor.StatusScheduled] != 1 {
			t.Errorf("stats count %d scheduled is_prime jobs, want 1: %+v", a.Counts[conveyor.StatusScheduled], a)
		}
	}
}

// TestDelayedCancel: a job canceled while scheduled never runs, and its
// schedule is gone from the broker.
func TestDelayedCancel(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "delay": "1s"}, "", 202)
	var c conveyor.Job
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, &c); resp.StatusCode != 200 || c.Status != conveyor.StatusCanceled {
		t.Fatalf("cancel a scheduled job: %d %s", resp.StatusCode, c.Status)
	}
	// Its time passes; it must stay canceled, never started.
	time.Sleep(2 * time.Second)
	var after conveyor.Job
	s.do("GET", "/v1/jobs/"+j.ID, nil, &after)
	if after.Status != conveyor.StatusCanceled || after.StartedAt != nil || after.Attempt != 0 {
		t.Fatalf("after its time: %s, attempt %d, started %v; want canceled, never started", after.Status, after.Attempt, after.StartedAt)
	}
}

// TestDelayedIdempotent: a delayed job with an idempotency key (stored
// first) is scheduled, is found again by its key, and runs at its time.
func TestDelayedIdempotent(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	req := map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 13}, "delay": "1s", "idempotency_key": "nightly-1"}
	j := s.submit(req, "", 202)
	again := s.submit(req, "", 200)
	if again.ID != j.ID || again.Status != conveyor.StatusScheduled {
		t.Fatalf("the same key again: %s %s, want %s scheduled", again.ID, again.Status, j.ID)
	}
	if done := s.wait(j.ID); done.Status != conveyor.StatusSucceeded {
		t.Fatalf("ended %s", done.Status)
	}
}

// TestDelayedBatch: delayed jobs in a batch are scheduled beside plain ones.
func TestDelayedBatch(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	body := `{"jobs":[{"algorithm":"is_prime","input":{"n":7}},{"algorithm":"is_prime","input":{"n":8},"delay":"500ms"},{"algorithm":"is_prime","input":{"n":9},"run_at":"` +
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}]}`
	var list conveyor.JobList
	if resp := s.do("POST", "/v1/jobs/batch", body, &list); resp.StatusCode != 202 {
		t.Fatalf("batch: %d", resp.StatusCode)
	}
	want := []conveyor.Status{conveyor.StatusQueued, conveyor.StatusScheduled, conveyor.StatusScheduled}
	for i, j := range list.Jobs {
		if j.Status != want[i] {
			t.Errorf("jobs[%d] is %s, want %s", i, j.Status, want[i])
		}
	}
	if done := s.wait(list.Jobs[1].ID); done.Status != conveyor.StatusSucceeded {
		t.Errorf("the delayed job of the batch ended %s", done.Status)
	}
	testenv.Eventually(t, "the hour-later job still scheduled", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+list.Jobs[2].ID, nil, &j)
		return j.Status == conveyor.StatusScheduled
	})
}

// TestDelayedMutex: a delayed job with a mutex key joins the line of its
// key at its time: it starts once the holder is done, never beside it,
// and never before its time.
func TestDelayedMutex(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	holder := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 2}, "mutex": "m"}, "", 202)
	delayed := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0}, "mutex": "m", "delay": "500ms"}, "", 202)
	if delayed.Status != conveyor.StatusScheduled {
		t.Fatalf("a delayed job with a mutex key is %s, want scheduled", delayed.Status)
	}
	alone := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0}, "mutex": "other", "delay": "500ms"}, "", 202)
	h, d, a := s.wait(holder.ID), s.wait(delayed.ID), s.wait(alone.ID)
	if d.Status != conveyor.StatusSucceeded || a.Status != conveyor.StatusSucceeded {
		t.Fatalf("delayed jobs with mutex keys ended %s and %s", d.Status, a.Status)
	}
	if d.StartedAt.Before(*h.FinishedAt) {
		t.Errorf("the delayed job started %v, before the holder of its key finished (%v)", d.StartedAt, h.FinishedAt)
	}
	if a.StartedAt.Before(*a.RunAt) || a.StartedAt.Sub(*a.RunAt) > time.Second {
		t.Errorf("the delayed job with a free key started %v after its time", a.StartedAt.Sub(*a.RunAt))
	}
}
