package app

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// TestRunnerCapacity: a runner's capacity is how many jobs it can run at
// once. A worker entry of max 2 processes serving several algorithms can
// run 2 jobs at once in all, whatever their algorithms, so it counts 2, and
// its busy count never exceeds that however many of its jobs wait (one a
// process holds ahead is prefetched); an exec entry adds its own max.
func TestRunnerCapacity(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/mymodule.py") // so that go test's cache sees it
	cfg := config.Config{
		HTTP:    config.HTTP{Addr: "127.0.0.1:0"},
		DataDir: t.TempDir(),
		Algorithms: []config.Algorithm{
			pyWorker(python, dir, "mymodule", config.Algorithm{Workers: config.Workers{Max: 2}}),
			execkind.Entry(config.Algorithm{Name: "wordcount", Workers: config.Workers{Max: 3}}, execkind.Options{Command: []string{python, filepath.Join(dir, "wordcount.py")}}),
		},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	runner := func() conveyor.RunnerInfo {
		var l conveyor.RunnerList
		if resp := s.do("GET", "/v1/runners", nil, &l); resp.StatusCode != 200 || len(l.Runners) != 1 {
			t.Fatalf("runners: %d %+v", resp.StatusCode, l)
		}
		return l.Runners[0]
	}
	r := runner()
	if len(r.Algorithms) < 4 {
		t.Fatalf("runner serves %v, want mymodule's algorithms and wordcount", r.Algorithms)
	}
	if r.Capacity != 5 || r.Workers["slow_count"] != 2 || r.Workers["word_count"] != 2 || r.Workers["wordcount"] != 3 {
		t.Fatalf("capacity %d, workers %v: want 5 (2 worker processes shared by %d algorithms, 3 exec)", r.Capacity, r.Workers, len(r.Algorithms)-1)
	}

	// Three long jobs on the two processes: two run, the runner is 2 busy;
	// one process holds the third (prefetch), which is prefetched, not busy.
	var ids []string
	for range 3 {
		ids = append(ids, s.submit(map[string]any{"algorithm": "slow_count", "input": map[string]any{"n": 100000}}, "", http.StatusAccepted).ID)
	}
	testenv.Eventually(t, "two slow_count jobs to run", func() bool {
		n := 0
		for _, id := range ids {
			var j conveyor.Job
			s.do("GET", "/v1/jobs/"+id, nil, &j)
			if j.Status == conveyor.StatusRunning && j.Progress != nil {
				n++
			}
		}
		return n == 2
	})
	testenv.Eventually(t, "the runner's heartbeat to report the busy slots", func() bool { r := runner(); return r.Busy == 2 && r.Prefetched == 1 })
	for range 5 {
		if r := runner(); r.Busy > r.Capacity {
			t.Fatalf("busy %d over capacity %d", r.Busy, r.Capacity)
		}
	}
	for _, id := range ids {
		s.do("POST", "/v1/jobs/"+id+"/cancel", nil, nil)
	}
}

// TestRunnerCapacityCountsJobs: with concurrency, a worker entry's slots
// are jobs: 2 processes holding 3 jobs each are a capacity of 6, held by
// 2 processes.
func TestRunnerCapacityCountsJobs(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	three := 3
	cfg := config.Config{
		HTTP:          config.HTTP{Addr: "127.0.0.1:0"},
		DataDir:       t.TempDir(),
		Algorithms:    []config.Algorithm{pyWorker(python, dir, "mymodule", config.Algorithm{Workers: config.Workers{Max: 2}}, workerkind.Options{Concurrency: &three})},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	var l conveyor.RunnerList
	if resp := s.do("GET", "/v1/runners", nil, &l); resp.StatusCode != 200 || len(l.Runners) != 1 {
		t.Fatalf("runners: %d %+v", resp.StatusCode, l)
	}
	if r := l.Runners[0]; r.Capacity != 6 || r.Processes != 2 || r.Workers["slow_count"] != 6 {
		t.Fatalf("capacity %d, processes %d, workers %v: want 6 jobs on 2 processes", r.Capacity, r.Processes, r.Workers)
	}
	// concurrency below 1 is a config error naming the entry.
	zero := 0
	bad := config.Config{Algorithms: []config.Algorithm{workerkind.Entry(config.Algorithm{Name: "x"}, workerkind.Options{Process: spawn.Options{Command: []string{"w"}}, Concurrency: &zero})}}
	bad.WithDefaults()
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "algorithms[0] (x): concurrency must be at least 1") {
		t.Errorf("concurrency 0: %v", err)
	}
}

// TestRunnerGPUs: a runner of resources {gpu: 1} runs one process of a
// worker entry needing a GPU each, whatever its workers.max: its capacity
// says so, and /v1/runners shows the GPU and the runner's labels.
func TestRunnerGPUs(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	cfg := config.Config{
		HTTP:          config.HTTP{Addr: "127.0.0.1:0"},
		DataDir:       t.TempDir(),
		Resources:     map[string]int{"gpu": 1},
		Labels:        map[string]string{"zone": "eu", "model": "llama"},
		Algorithms:    []config.Algorithm{pyWorker(python, dir, "mymodule", config.Algorithm{Workers: config.Workers{Max: 4}}, workerkind.Options{Resources: map[string]int{"gpu": 1}})},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	var l conveyor.RunnerList
	if resp := s.do("GET", "/v1/runners", nil, &l); resp.StatusCode != 200 || len(l.Runners) != 1 {
		t.Fatalf("runners: %d %+v", resp.StatusCode, l)
	}
	if r := l.Runners[0]; r.Capacity != 1 || r.Processes != 1 || r.Resources["gpu"] != 1 {
		t.Fatalf("capacity %d, processes %d, resources %v: want 1, 1 and a GPU", r.Capacity, r.Processes, r.Resources)
	}
	if r := l.Runners[0]; len(r.Labels) != 2 || r.Labels["zone"] != "eu" || r.Labels["model"] != "llama" {
		t.Errorf("labels %v, want zone=eu and model=llama", r.Labels)
	}

	// The GPU's load: the job running on the process that holds it, in
	// the runner's record (refreshed each heartbeat) and the metrics.
	j := s.submit(map[string]any{"algorithm": "slow_count", "input": map[string]any{"n": 1000}}, "", http.StatusAccepted)
	testenv.Eventually(t, "the runner to show the job on its GPU", func() bool {
		var l conveyor.RunnerList
		s.do("GET", "/v1/runners", nil, &l)
		return len(l.Runners) == 1 && len(l.Runners[0].Devices) == 1 && l.Runners[0].Devices[0] == conveyor.DeviceLoad{GPU: 0, Held: true, Jobs: 1}
	})
	if text := readAll(t, s.do("GET", "/metrics", nil, nil)); !regexp.MustCompile(`conveyor_gpu_jobs\{gpu="0",runner="[^"]+"\} 1\n`).MatchString(text) {
		t.Errorf("/metrics lacks the GPU's job: %s", text)
	}
	s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil)
}
