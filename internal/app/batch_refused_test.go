package app

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

// TestRefusedBatchRunsNothing checks "accepted whole or not at all" for
// side effects: a batch refused for an idempotency key bound to another
// request (its last job) runs none of its jobs — not its first, which has
// a mutex key and would take it, nor those with keys of their own — and
// leaves their keys free. The jobs run an exec script that records each
// run in a file; one worker runs them in the order queued, so once a job
// submitted after the batches has run, any job of theirs that was ever
// queued has run before it.
func TestRefusedBatchRunsNothing(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{
		Name:    "mark",
		Workers: config.Workers{Max: 1},
	}, execkind.Options{
		Command: []string{"sh", "-c", `tr -d '\n' <"$CONVEYOR_INPUT" >>"$RAN" && echo >>"$RAN" && echo 'OUTPUT: {}'`},
		Env:     map[string]string{"RAN": ran},
	}))
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	runs := func() []string {
		data, err := os.ReadFile(ran)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Fields(string(data))
	}

	used := s.submit(map[string]any{"algorithm": "mark", "input": map[string]any{"bound": 1}, "idempotency_key": "usedkey"}, "?wait=30s", http.StatusOK)
	if used.Status != conveyor.StatusSucceeded {
		t.Fatalf("binding the key: %s %+v", used.Status, used.Error)
	}
	for i := range 10 {
		jobs := []map[string]any{{"algorithm": "mark", "input": map[string]any{"first": i}, "mutex": fmt.Sprintf("mK-%d", i)}}
		for k := range 10 {
			jobs = append(jobs, map[string]any{"algorithm": "mark", "input": map[string]any{"keyed": k}, "idempotency_key": fmt.Sprintf("k-%d-%d", i, k)})
		}
		jobs = append(jobs, map[string]any{"algorithm": "mark", "input": map[string]any{"other": i}, "idempotency_key": "usedkey"})
		resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": jobs}, nil)
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("batch %d: %d %s, want 409", i, resp.StatusCode, readAll(t, resp))
		}
	}
	after := s.submit(map[string]any{"algorithm": "mark", "input": map[string]any{"after": 1}}, "?wait=30s", http.StatusOK)
	if after.Status != conveyor.StatusSucceeded {
		t.Fatalf("the job after the batches: %s %+v", after.Status, after.Error)
	}
	if got, want := strings.Join(runs(), " "), `{"bound":1} {"after":1}`; got != want {
		t.Fatalf("runs: %s\nwant only %s: jobs of refused batches ran", got, want)
	}
	if ids := s.listed(); len(ids) != 2 {
		t.Errorf("%d jobs listed, want 2", len(ids))
	}
	// The keys the refused batches claimed are free: a batch that uses
	// them is accepted, and its mutex job runs.
	var list conveyor.JobList
	resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": []map[string]any{
		{"algorithm": "mark", "input": map[string]any{"keyed": 0, "again": true}, "idempotency_key": "k-0-0"},
		{"algorithm": "mark", "input": map[string]any{"first": 0}, "mutex": "mK-0"},
	}}, &list)
	if resp.StatusCode != http.StatusAccepted || len(list.Jobs) != 2 {
		t.Fatalf("batch with the keys of a refused one: %d %+v", resp.StatusCode, list)
	}
	for _, j := range list.Jobs {
		if done := s.wait(j.ID); done.Status != conveyor.StatusSucceeded {
			t.Errorf("job %s: %s %+v", j.ID, done.Status, done.Error)
		}
	}
}
