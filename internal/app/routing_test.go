package app

import (
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestRequiresServe: in serve, whose runner has labels, a job requiring
// some of them runs — also when it comes from the broker's scheduler (a
// delayed job rings no doorbell), from a schedule, or goes through a
// pipeline's stages — and a retry keeps its requirements; one requiring a
// label the runner lacks waits.
func TestRequiresServe(t *testing.T) {
	cfg := pipelineConfig(t, "")
	cfg.Labels = map[string]string{"model": "llama", "zone": "eu"}
	s := startServer(t, cfg)

	ok := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "requires": map[string]string{"model": "llama"}}, "?wait=20s", http.StatusOK)
	if ok.Status != conveyor.StatusSucceeded || ok.Requires["model"] != "llama" {
		t.Fatalf("job requiring a label the runner has: %s, requires %v", ok.Status, ok.Requires)
	}
	late := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "requires": map[string]string{"zone": "eu"}, "priority": "low", "delay": "200ms"}, "", http.StatusAccepted)
	if got := s.wait(late.ID); got.Status != conveyor.StatusSucceeded {
		t.Fatalf("delayed job requiring zone=eu: %s", got.Status)
	}
	looped := s.submit(map[string]any{"algorithm": "count_loop", "input": map[string]any{"count": 0, "target": 3}, "requires": map[string]string{"zone": "eu", "model": "llama"}}, "", http.StatusAccepted)
	if got := s.wait(looped.ID); got.Status != conveyor.StatusSucceeded || got.Stage == nil || got.Stage.Step != 3 {
		t.Fatalf("pipeline job requiring both labels: %s at %+v", got.Status, got.Stage)
	}
	var sched conveyor.Schedule
	if resp := s.do("POST", "/v1/schedules", map[string]any{"name": "nightly", "algorithm": "is_prime", "input": map[string]any{"n": 5}, "every": "1h", "paused": true, "requires": map[string]string{"model": "llama"}}, &sched); resp.StatusCode != http.StatusCreated || sched.Requires["model"] != "llama" {
		t.Fatalf("schedule with requires: %d %+v", resp.StatusCode, sched)
	}
	var fired conveyor.Job
	if resp := s.do("POST", "/v1/schedules/nightly/trigger", nil, &fired); resp.StatusCode != http.StatusAccepted || fired.Requires["model"] != "llama" {
		t.Fatalf("schedule's job: %d, requires %v", resp.StatusCode, fired.Requires)
	}
	if got := s.wait(fired.ID); got.Status != conveyor.StatusSucceeded {
		t.Fatalf("schedule's job: %s", got.Status)
	}
	never := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "requires": map[string]string{"model": "mistral"}}, "?wait=1s", http.StatusAccepted)
	if never.Status != conveyor.StatusQueued {
		t.Fatalf("job requiring a label the runner lacks: %s, want queued", never.Status)
	}
	var info conveyor.AlgorithmInfo
	if resp := s.do("GET", "/v1/algorithms/is_prime", nil, &info); resp.StatusCode != 200 || len(info.Unmet) != 1 || info.Unmet[0].Requires["model"] != "mistral" {
		t.Fatalf("unmet: %+v", info.Unmet)
	}

	// A retry of a finished routed job keeps its requirements.
	var again conveyor.Job
	if resp := s.do("POST", "/v1/jobs/"+ok.ID+"/retry", nil, &again); resp.StatusCode != http.StatusAccepted || again.Requires["model"] != "llama" {
		t.Fatalf("retry: %d, requires %v", resp.StatusCode, again.Requires)
	}
	if got := s.wait(again.ID); got.Status != conveyor.StatusSucceeded {
		t.Fatalf("retried job: %s", got.Status)
	}
}
