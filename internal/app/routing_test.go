package app

import (
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestRequiresBadInput: malformed requirements are a 400 naming the field
// (in a batch, the job), and nothing is stored.
func TestRequiresBadInput(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	long := ""
	for range 130 {
		long += "x"
	}
	for _, c := range []struct{ path, body, pointer string }{
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"a=b":"c"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"":"c"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"model":"a,b"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"model":"` + long + `"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9"}}`, "/requires"},
		{"/v1/jobs/batch", `{"jobs":[{"algorithm":"is_prime","input":{"n":7}},{"algorithm":"is_prime","input":{"n":7},"requires":{"x":"\u0001"}}]}`, "/jobs/1/requires"},
		{"/v1/algorithms/is_prime/jobs?requires=model", `{"n":7}`, "/requires"},
		{"/v1/algorithms/is_prime/jobs?requires=model=a,model=b", `{"n":7}`, "/requires"},
	} {
		resp := s.do("POST", c.path, c.body, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400", c.path, c.body, resp.StatusCode)
			continue
		}
		if p := problem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != c.pointer {
			t.Errorf("%s %s: problem %+v, want a pointer at %s", c.path, c.body, p, c.pointer)
		}
	}
	var page conveyor.JobPage
	s.do("GET", "/v1/jobs", nil, &page)
	if len(page.Jobs) != 0 {
		t.Errorf("refused submits stored %d jobs", len(page.Jobs))
	}
}

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
