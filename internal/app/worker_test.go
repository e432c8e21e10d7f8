package app

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPythonWorker is the worker kind's promise, through the real HTTP
// API: a module of plain Python functions and one config entry give
// listed algorithms with schemas, 400s with pointers, results, progress,
// logs, cancel and retries, and a server that survives its worker dying.
func TestPythonWorker(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/mymodule.py") // so that go test's cache sees it
	cfg := config.Config{
		HTTP:    config.HTTP{Addr: "127.0.0.1:0"},
		DataDir: t.TempDir(),
		Algorithms: []config.Algorithm{{
			Kind: "worker", Command: []string{python, "-m", "conveyor.worker", "mymodule"},
			Dir: dir, Workers: config.Workers{Max: 2}, Grace: conveyor.Duration(2 * time.Second),
		}},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	// Listed, with the schema from the type hints.
	var alg conveyor.AlgorithmInfo
	if resp := s.do("GET", "/v1/algorithms/word_count", nil, &alg); resp.StatusCode != 200 {
		t.Fatalf("algorithm: %d", resp.StatusCode)
	}
	var in struct {
		Properties map[string]map[string]any
		Required   []string
	}
	_ = json.Unmarshal(alg.InputSchema, &in)
	if alg.Kind != "worker" || alg.Description != "Counts the words of a text." || in.Properties["top"]["type"] != "integer" ||
		in.Properties["top"]["default"] != 10.0 || !slices.Equal(in.Required, []string{"text"}) {
		t.Fatalf("algorithm %+v, schema %s", alg, alg.InputSchema)
	}

	// 400 with a pointer.
	resp := s.do("POST", "/v1/algorithms/word_count/jobs", `{"text": "a b", "top": "3"}`, nil)
	if p := problem(t, resp); resp.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/top" {
		t.Fatalf("top as a string: %d %+v", resp.StatusCode, p)
	}

	// A result, and what the function printed in the job's logs.
	j := s.submit(map[string]any{"algorithm": "word_count", "input": map[string]any{"text": "the cat the hat", "top": 1}}, "?wait=30s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"words":4,"top":[["the",2]]}` {
		t.Fatalf("word_count: %+v output %s", j, j.Output)
	}
	if logs := jobLogs(s, j.ID); !slices.Contains(logs, "stdout: counting words") {
		t.Errorf("logs %q", logs)
	}

	// Progress, then cancel: the worker stops the job and stays.
	slow := s.submit(map[string]any{"algorithm": "slow_count", "input": map[string]any{"n": 100000}}, "", http.StatusAccepted)
	testenv.Eventually(t, "progress", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+slow.ID, nil, &j)
		return j.Progress != nil && j.Progress.Percent > 0
	})
	if resp := s.do("POST", "/v1/jobs/"+slow.ID+"/cancel", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	if j := s.wait(slow.ID); j.Status != conveyor.StatusCanceled {
		t.Fatalf("canceled job: %+v", j)
	}

	// A retryable error is retried; a crash too, and the server survives it.
	for alg, input := range map[string]map[string]any{"flaky_count": {"text": "a b"}, "crash_once": {}} {
		j := s.submit(map[string]any{"algorithm": alg, "input": input}, "", http.StatusAccepted)
		if j = s.wait(j.ID); j.Status != conveyor.StatusSucceeded || j.Attempt != 2 {
			t.Fatalf("%s: %+v error %+v", alg, j, j.Error)
		}
		if logs := jobLogs(s, j.ID); alg == "flaky_count" && !slices.Contains(logs, "log: WARNING: the service is busy") {
			t.Errorf("flaky_count logs %q", logs)
		}
	}

	// Any other exception fails the job at once, with its traceback.
	j = s.submit(map[string]any{"algorithm": "fail", "input": map[string]any{"text": "x"}}, "?wait=30s", http.StatusOK)
	if j.Status != conveyor.StatusFailed || j.Attempt != 1 || j.Error.Message != "ValueError: cannot count x" || !strings.Contains(j.Error.Detail, "Traceback") {
		t.Fatalf("fail: %+v error %+v", j, j.Error)
	}
}

func jobLogs(s *server, id string) []string {
	var l conveyor.LogList
	s.do("GET", "/v1/jobs/"+id+"/logs", nil, &l)
	var out []string
	for _, line := range l.Logs {
		out = append(out, line.Stream+": "+line.Line)
	}
	return out
}
