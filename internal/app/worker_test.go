package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/workerkind"
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
		Algorithms: []config.Algorithm{pyWorker(python, dir, "mymodule", config.Algorithm{
			Workers: config.Workers{Max: 2},
			Grace:   conveyor.Duration(2 * time.Second),
		})},
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

// TestKill9AsyncWorker: a worker process holding 8 async jobs at once
// (concurrency: 8) is killed with SIGKILL: every one of its jobs' attempts
// ends as crashed, each is retried on a new process and succeeds, none is
// lost, and no job's second attempt starts before the first one's process
// died — none runs twice at once.
func TestKill9AsyncWorker(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	cfg := testConfig(t, t.TempDir())
	eight := 8
	cfg.Algorithms = append(cfg.Algorithms, pyWorker(python, dir, "asyncnap", config.Algorithm{
		Workers:     config.Workers{Max: 1},
		MaxAttempts: 3,
	}, workerkind.Options{Concurrency: &eight}))
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	logPath := filepath.Join(t.TempDir(), "attempts.jsonl")
	var ids []string
	for range 8 {
		j := s.submit(map[string]any{"algorithm": "nap", "input": map[string]any{"seconds": 1.5, "log": logPath}}, "", http.StatusAccepted)
		ids = append(ids, j.ID)
	}
	// All eight running on the one process.
	var pid int
	testenv.Eventually(t, "eight jobs running on one process", func() bool {
		pids := map[int]bool{}
		for _, id := range ids {
			var j conveyor.Job
			s.do("GET", "/v1/jobs/"+id, nil, &j)
			var p int
			if j.Status != conveyor.StatusRunning || j.Progress == nil {
				return false
			}
			if _, err := fmt.Sscanf(j.Progress.Message, "pid %d", &p); err != nil {
				return false
			}
			pids[p] = true
			pid = p
		}
		return len(pids) == 1
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, id := range ids {
		j := s.wait(id)
		var out struct{ PID, Attempt int }
		if err := json.Unmarshal(j.Output, &out); j.Status != conveyor.StatusSucceeded || err != nil || out.Attempt != 2 || out.PID == pid {
			t.Errorf("job %s: %s, output %s: want succeeded on its second attempt, on another process", id, j.Status, j.Output)
		}
	}
	// The log: every job started twice — the second time after the kill,
	// on another process — and ended once.
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		ID, Event string
		Attempt   int
		T         float64
		PID       int
	}
	starts, ends := map[string][]event{}, map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e.Event == "start" {
			starts[e.ID] = append(starts[e.ID], e)
		} else {
			ends[e.ID]++
		}
	}
	for _, id := range ids {
		st := starts[id]
		if len(st) != 2 || ends[id] != 1 || st[0].PID != pid || st[1].PID == pid || time.Unix(0, int64(st[1].T*1e9)).Before(killed.Add(-50*time.Millisecond)) {
			t.Errorf("job %s: starts %+v, %d ends: want one start on the killed process, then one on another after the kill, and one end", id, st, ends[id])
		}
	}
	if text := readAll(t, s.do("GET", "/metrics", nil, nil)); !strings.Contains(text, `conveyor_attempts_total{algorithm="nap",outcome="retried"} 8`) {
		t.Errorf("/metrics does not count 8 retried attempts of nap: %s", grepLines(text, "conveyor_attempts_total"))
	}
	// Each job's log says why its first attempt ended.
	for _, id := range ids {
		var ll conveyor.LogList
		s.do("GET", "/v1/jobs/"+id+"/logs", nil, &ll)
		if !slices.ContainsFunc(ll.Logs, func(l conveyor.LogLine) bool {
			return l.Attempt == 1 && strings.Contains(l.Line, "the worker process") && strings.Contains(l.Line, "was killed by signal 9")
		}) {
			t.Errorf("job %s: log %+v, want its first attempt's crash (pid %d)", id, ll.Logs, pid)
		}
	}
}
