package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

// listed returns the ids of every job the server lists.
func (s *server) listed() map[string]bool {
	s.t.Helper()
	var l conveyor.JobList
	if resp := s.do("GET", "/v1/jobs?limit=500", nil, &l); resp.StatusCode != http.StatusOK {
		s.t.Fatalf("list: %d", resp.StatusCode)
	}
	ids := map[string]bool{}
	for _, j := range l.Jobs {
		ids[j.ID] = true
	}
	return ids
}

// TestSubmitBatch submits jobs of several kinds in one request: they come
// back in order, run, and are listed; a batch with one bad job is refused
// whole, naming the job, and stores nothing.
func TestSubmitBatch(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))

	before := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 5}, "idempotency_key": "k-batch"}, "", http.StatusAccepted)
	var list conveyor.JobList
	resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": []map[string]any{
		{"algorithm": "is_prime", "input": map[string]any{"n": 7}},
		{"algorithm": "is_prime", "input": map[string]any{"n": 91}, "priority": "high", "labels": map[string]string{"batch": "yes"}},
		{"algorithm": "is_prime", "input": map[string]any{"n": 5}, "idempotency_key": "k-batch"},
		{"algorithm": "is_prime", "input": map[string]any{"n": 13}, "mutex": "m-batch"},
		{"algorithm": "wordcount", "input": map[string]any{"text": "one two three"}},
	}}, &list)
	if resp.StatusCode != http.StatusAccepted || len(list.Jobs) != 5 {
		t.Fatalf("batch: %d, %d jobs", resp.StatusCode, len(list.Jobs))
	}
	if list.Jobs[2].ID != before.ID {
		t.Errorf("a reused idempotency key gave job %s, want the earlier %s", list.Jobs[2].ID, before.ID)
	}
	if list.Jobs[1].Priority != conveyor.PriorityHigh || list.Jobs[1].Labels["batch"] != "yes" || list.Jobs[3].Mutex != "m-batch" {
		t.Errorf("options lost: %+v %+v", list.Jobs[1], list.Jobs[3])
	}
	want := []string{`{"n":7,"prime":true}`, `{"n":91,"prime":false}`, `{"n":5,"prime":true}`, `{"n":13,"prime":true}`, `{"words":3}`}
	for i, j := range list.Jobs {
		if i != 2 && j.Status != conveyor.StatusQueued {
			t.Errorf("jobs[%d] answered %s, want queued", i, j.Status)
		}
		done := s.wait(j.ID)
		if done.Status != conveyor.StatusSucceeded || string(done.Output) != want[i] {
			t.Errorf("jobs[%d]: %s %s, want succeeded %s", i, done.Status, done.Output, want[i])
		}
	}
	ids := s.listed()
	for i, j := range list.Jobs {
		if !ids[j.ID] {
			t.Errorf("jobs[%d] (%s) is not listed", i, j.ID)
		}
	}

	// Refused whole: the third job breaks its schema, the second names an
	// algorithm nobody serves.
	for _, tc := range []struct {
		name    string
		jobs    []map[string]any
		status  int
		detail  string
		pointer string
	}{
		{"schema", []map[string]any{
			{"algorithm": "is_prime", "input": map[string]any{"n": 3}},
			{"algorithm": "is_prime", "input": map[string]any{"n": 4}},
			{"algorithm": "is_prime", "input": map[string]any{"n": -1}},
		}, 400, "jobs[2]: input does not match", "/jobs/2/input/n"},
		{"unknown algorithm", []map[string]any{
			{"algorithm": "is_prime", "input": map[string]any{"n": 3}},
			{"algorithm": "nope", "input": map[string]any{}},
		}, 404, "jobs[1]: unknown algorithm", "/jobs/1"},
		{"empty", []map[string]any{}, 400, "jobs is empty", ""},
		{"too many", make([]map[string]any, conveyor.MaxBatch+1), 400, fmt.Sprintf("at most %d jobs", conveyor.MaxBatch), ""},
	} {
		var p conveyor.Problem
		resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": tc.jobs}, &p)
		if resp.StatusCode != tc.status || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, p.Detail, tc.status, tc.detail)
		}
		if tc.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != tc.pointer) {
			t.Errorf("%s: violations %+v, want one at %s", tc.name, p.Errors, tc.pointer)
		}
	}
	if after := s.listed(); len(after) != len(ids) {
		t.Errorf("refused batches left jobs behind: %d listed, %d before", len(after), len(ids))
	}

	// The Go client.
	var jobs []*conveyor.Job
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err = c.SubmitBatch(context.Background(), []conveyor.SubmitRequest{
		{Algorithm: "is_prime", Input: []byte(`{"n":17}`)},
		{Algorithm: "is_prime", Input: []byte(`{"n":18}`)},
	})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("client batch: %v, %d jobs", err, len(jobs))
	}
	if done := s.wait(jobs[1].ID); string(done.Output) != `{"n":18,"prime":false}` {
		t.Errorf("client batch job: %s %s", done.Status, done.Output)
	}
	_, err = c.SubmitBatch(context.Background(), []conveyor.SubmitRequest{{Algorithm: "is_prime", Input: []byte(`{"n":"x"}`)}})
	if conveyor.ErrorCode(err) != conveyor.EINVALID || !strings.Contains(err.Error(), "jobs[0]") {
		t.Errorf("client batch of a bad job: %v", err)
	}
}
