package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

func TestSubmitAndWait(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))

	// 202 + Location + the queued job.
	var j conveyor.Job
	resp := s.do("POST", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 32416190071}}, &j)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/v1/jobs/"+j.ID {
		t.Fatalf("submit: %d, Location %q, job %+v", resp.StatusCode, resp.Header.Get("Location"), j)
	}
	if j.Status != conveyor.StatusQueued || j.MaxAttempts != 3 || j.Priority != conveyor.PriorityNormal {
		t.Fatalf("new job: %+v", j)
	}
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusSucceeded || string(done.Output) != `{"n":32416190071,"prime":true}` || done.Attempt != 1 {
		t.Fatalf("done: %+v output %s", done, done.Output)
	}
	if done.StartedAt == nil || done.FinishedAt == nil || done.Runner == "" {
		t.Fatalf("timestamps/runner missing: %+v", done)
	}

	// ?wait= returns the finished job with 200.
	fin := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 91}}, "?wait=10s", http.StatusOK)
	if fin.Status != conveyor.StatusSucceeded || string(fin.Output) != `{"n":91,"prime":false}` {
		t.Fatalf("wait: %+v", fin)
	}

	// POST /v1/algorithms/{name}/jobs takes the input alone.
	var k conveyor.Job
	resp = s.do("POST", "/v1/algorithms/is_prime/jobs?wait=10s&max_attempts=1", `{"n": 7}`, &k)
	if resp.StatusCode != http.StatusOK || string(k.Output) != `{"n":7,"prime":true}` || k.MaxAttempts != 1 {
		t.Fatalf("per-algorithm submit: %d %+v", resp.StatusCode, k)
	}
}

func TestSubmitErrors(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		pointers   []string
	}{
		{"unknown algorithm", `{"algorithm":"nope","input":{}}`, 404, conveyor.ENOTFOUND, nil},
		{"malformed json", `{"algorithm":`, 400, conveyor.EINVALID, nil},
		{"unknown field", `{"algorithm":"is_prime","input":{"n":1},"colour":1}`, 400, conveyor.EINVALID, nil},
		{"missing property", `{"algorithm":"is_prime","input":{}}`, 400, conveyor.EINVALID, []string{""}},
		{"below minimum", `{"algorithm":"is_prime","input":{"n":-1}}`, 400, conveyor.EINVALID, []string{"/n"}},
		{"wrong type", `{"algorithm":"wordcount","input":{"text":5,"fail":"yes"}}`, 400, conveyor.EINVALID, []string{"/fail", "/text"}},
		{"bad priority", `{"algorithm":"is_prime","input":{"n":1},"priority":"urgent"}`, 400, conveyor.EINVALID, nil},
		{"mutex too long", `{"algorithm":"is_prime","input":{"n":1},"mutex":"` + strings.Repeat("m", 257) + `"}`, 400, conveyor.EINVALID, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("POST", "/v1/jobs", tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			p := problem(t, resp)
			if p.Code != tc.code || p.Status != tc.status || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
			var got []string
			for _, v := range p.Errors {
				got = append(got, v.Pointer)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.pointers) {
				t.Fatalf("violation pointers %q, want %q (%+v)", got, tc.pointers, p.Errors)
			}
		})
	}
	// Nothing was stored for any of them.
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs", nil, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("rejected submits stored %d jobs", len(list.Jobs))
	}
}

func TestBodyLimit(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.MaxBody = 1024
	s := startServer(t, cfg)
	big := `{"algorithm":"wordcount","input":{"text":"` + strings.Repeat("a ", 1000) + `"}}`
	resp := s.do("POST", "/v1/jobs", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || problem(t, resp).Code != conveyor.ETOOLARGE {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp = s.do("POST", "/v1/algorithms/wordcount/jobs", big[len(`{"algorithm":"wordcount","input":`):len(big)-1], nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("per-algorithm submit: status %d", resp.StatusCode)
	}
}

func TestIdempotency(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	req := map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 13}, "idempotency_key": "order-42"}
	first := s.submit(req, "", http.StatusAccepted)
	again := s.submit(req, "", http.StatusOK)
	if again.ID != first.ID {
		t.Fatalf("second submit made job %s, want the first %s", again.ID, first.ID)
	}
	req["input"] = map[string]any{"n": 14}
	resp := s.do("POST", "/v1/jobs", req, nil)
	if resp.StatusCode != http.StatusConflict || problem(t, resp).Code != conveyor.ECONFLICT {
		t.Fatalf("different request, same key: %d", resp.StatusCode)
	}
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs", nil, &list)
	if len(list.Jobs) != 1 {
		t.Fatalf("%d jobs stored, want 1", len(list.Jobs))
	}
}

func TestListPagination(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var ids []string
	for i := range 7 {
		alg, input := "is_prime", map[string]any{"n": i}
		if i%3 == 0 {
			alg, input = "wordcount", map[string]any{"text": "a b"}
		}
		ids = append(ids, s.submit(map[string]any{"algorithm": alg, "input": input}, "", 202).ID)
	}
	for _, id := range ids {
		s.wait(id)
	}
	// Newest first, three at a time.
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		var list conveyor.JobPage
		if resp := s.do("GET", "/v1/jobs?limit=3&cursor="+cursor, nil, &list); resp.StatusCode != 200 {
			t.Fatalf("list: %d", resp.StatusCode)
		}
		for _, j := range list.Jobs {
			got = append(got, j.ID)
		}
		if list.NextCursor == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = list.NextCursor
	}
	for i := range ids {
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", got, ids)
		}
	}
	// Filters.
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs?algorithm=wordcount&status=succeeded", nil, &list)
	if len(list.Jobs) != 3 {
		t.Fatalf("wordcount filter: %d jobs, want 3", len(list.Jobs))
	}
	s.do("GET", "/v1/jobs?status=failed", nil, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("failed filter: %d jobs", len(list.Jobs))
	}
	if resp := s.do("GET", "/v1/jobs?status=lost", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("bad status filter: %d", resp.StatusCode)
	}
}

func TestAlgorithmsAndHealth(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var list conveyor.AlgorithmList
	s.do("GET", "/v1/algorithms", nil, &list)
	names := map[string]conveyor.AlgorithmInfo{}
	for _, a := range list.Algorithms {
		names[a.Name] = a
	}
	ip, ok := names["is_prime"]
	if !ok || ip.Kind != "go" || len(ip.Runners) != 1 || !strings.Contains(string(ip.InputSchema), `"minimum":0`) {
		t.Fatalf("is_prime: %+v schema %s", ip, ip.InputSchema)
	}
	if wc := names["wordcount"]; wc.Kind != "exec" || !strings.Contains(string(wc.InputSchema), `"required":["text"]`) {
		t.Fatalf("wordcount: %+v", wc)
	}
	var one conveyor.AlgorithmInfo
	if resp := s.do("GET", "/v1/algorithms/sleep", nil, &one); resp.StatusCode != 200 || one.Name != "sleep" {
		t.Fatalf("sleep: %d %+v", resp.StatusCode, one)
	}
	if resp := s.do("GET", "/v1/algorithms/nope", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown algorithm: %d", resp.StatusCode)
	}
	var runners conveyor.RunnerList
	s.do("GET", "/v1/runners", nil, &runners)
	if len(runners.Runners) != 1 || runners.Runners[0].Capacity < 5 {
		t.Fatalf("runners: %+v", runners)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		var h conveyor.Health
		if resp := s.do("GET", path, nil, &h); resp.StatusCode != 200 || h.Status != "ok" {
			t.Fatalf("%s: %d %+v", path, resp.StatusCode, h)
		}
	}
	if resp := s.do("GET", "/v1/jobs/01NOSUCHJOB", nil, nil); resp.StatusCode != 404 || problem(t, resp).Code != conveyor.ENOTFOUND {
		t.Fatalf("unknown job: %d", resp.StatusCode)
	}
}

// TestRetentionExpires checks that a finished job is gone (404) once the
// retention has passed since its last change, and leaves the list.
func TestRetentionExpires(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Retention = conveyor.Duration(time.Second)
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 5}}, "?wait=10s", http.StatusOK)
	if resp := s.do("GET", "/v1/jobs/"+j.ID, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh job: %d", resp.StatusCode)
	}
	testenv.Eventually(t, "the job to expire", func() bool {
		return s.do("GET", "/v1/jobs/"+j.ID, nil, nil).StatusCode == http.StatusNotFound
	})
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs", nil, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("expired job still listed: %+v", list.Jobs)
	}
}

// TestStartErrors checks that a bad setup is reported and leaves nothing
// running: the broker, the runner and the listener are all stopped.
func TestStartErrors(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{Name: "ghost"}, execkind.Options{Command: []string{"no-such-program-xyz"}}))
	cfg.WithDefaults()
	if _, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Fatalf("missing program: err = %v", err)
	}

	s := startServer(t, testConfig(t, t.TempDir()))
	busy := testConfig(t, t.TempDir())
	busy.HTTP.Addr = s.app.Addr()
	if _, err := Start(context.Background(), busy, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("busy port: err = %v", err)
	}
}

// TestQueueFull checks max_queued: past it a submit gets 429 with
// Retry-After, and nothing is stored for it.
func TestQueueFull(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms[0].Workers.Max = 1
	cfg.Algorithms[0].MaxQueued = 2
	s := startServer(t, cfg)
	long := map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}}
	running := s.submit(long, "", http.StatusAccepted)
	testenv.Eventually(t, "the first job to run", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+running.ID, nil, &j)
		return j.Status == conveyor.StatusRunning
	})
	s.submit(long, "", http.StatusAccepted)
	s.submit(long, "", http.StatusAccepted)
	testenv.Eventually(t, "two queued jobs", func() bool {
		var a conveyor.AlgorithmInfo
		s.do("GET", "/v1/algorithms/sleep", nil, &a)
		return a.Queued == 2 && a.MaxQueued == 2
	})
	resp := s.do("POST", "/v1/jobs", long, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || problem(t, resp).Code != conveyor.EFULL {
		t.Fatalf("past max_queued: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs?algorithm=sleep", nil, &list)
	if len(list.Jobs) != 3 {
		t.Fatalf("%d sleep jobs stored, want 3", len(list.Jobs))
	}
	for _, j := range list.Jobs {
		s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil)
	}
	// Other algorithms are not limited.
	s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 3}}, "", http.StatusAccepted)
}

// TestMetrics checks that /metrics serves the Prometheus text format with
// what happened: submits, attempts by outcome, workers, queue gauges, HTTP.
func TestMetrics(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", http.StatusOK)
	s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0, "fail": "x"}, "max_attempts": 1}, "?wait=10s", http.StatusOK)
	s.do("GET", "/v1/algorithms/is_prime/run?n=5", nil, nil)
	resp := s.do("GET", "/metrics", nil, nil)
	text := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`conveyor_jobs_submitted_total{algorithm="is_prime"} 1`,
		`conveyor_attempts_total{algorithm="is_prime",outcome="succeeded"} 1`,
		`conveyor_attempts_total{algorithm="sleep",outcome="failed"} 1`,
		`conveyor_jobs_finished_total{algorithm="sleep",status="failed"} 1`,
		`conveyor_attempt_duration_seconds_count{algorithm="is_prime"} 1`,
		`conveyor_queue_wait_seconds_count{algorithm="is_prime"} 1`,
		`conveyor_call_duration_seconds_count{algorithm="is_prime",outcome="ok"} 1`,
		`conveyor_jobs{algorithm="is_prime",status="queued"} 0`,
		`conveyor_runners 1`,
		`conveyor_http_request_duration_seconds_count{code="200",method="POST",route="POST /v1/jobs"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`conveyor_workers\{algorithm="is_prime",runner="[^"]+"\} 4`).MatchString(text) {
		t.Errorf("/metrics lacks the worker slots of is_prime")
	}
}
