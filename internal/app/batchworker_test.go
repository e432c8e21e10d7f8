package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPythonWorkerBatches runs a @conveyor.batch function through the
// real server: jobs submitted together reach the worker four at a time,
// each keeps its own output, error, attempts and logs; an exception fails
// the batch's jobs as one attempt and each is retried on its own; a list
// of the wrong length fails every job of the batch; synchronous calls
// join batches; /v1/algorithms says how batches form and /metrics has
// their sizes.
func TestPythonWorkerBatches(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/batchmod.py") // so that go test's cache sees it
	cfg := config.Config{
		HTTP:    config.HTTP{Addr: "127.0.0.1:0"},
		DataDir: t.TempDir(),
		Algorithms: []config.Algorithm{pyWorker(python, dir, "batchmod", config.Algorithm{
			Workers:     config.Workers{Max: 1},
			MaxAttempts: 3,
			Grace:       conveyor.Duration(2 * time.Second),
		})},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	var alg conveyor.AlgorithmInfo
	if resp := s.do("GET", "/v1/algorithms/embed", nil, &alg); resp.StatusCode != 200 || string(alg.InputSchema) != `{"type":"string"}` ||
		alg.Batch == nil || *alg.Batch != (conveyor.Batching{MaxSize: 4, MaxWait: conveyor.Duration(5 * time.Second)}) {
		t.Fatalf("algorithm: %d, input schema %s, batch %+v", resp.StatusCode, alg.InputSchema, alg.Batch)
	}
	// One process, four jobs a batch: eight slots, one batch running and
	// the next filling.
	var runners conveyor.RunnerList
	if s.do("GET", "/v1/runners", nil, &runners); len(runners.Runners) != 1 || runners.Runners[0].Capacity != 8 || runners.Runners[0].Processes != 1 {
		t.Fatalf("runners: %+v", runners.Runners)
	}
	if resp := s.do("POST", "/v1/algorithms/embed/jobs", `{"text": "x"}`, nil); resp.StatusCode != 400 {
		t.Fatalf("an object for a string input: %d", resp.StatusCode)
	}

	// submitAll submits one job per text — the first alone, its body the
	// input string; the others in one request — and waits for them all.
	submitAll := func(texts ...string) []*conveyor.Job {
		t.Helper()
		var first conveyor.Job
		if resp := s.do("POST", "/v1/algorithms/embed/jobs", fmt.Sprintf("%q", texts[0]), &first); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit %q: %d", texts[0], resp.StatusCode)
		}
		var reqs []map[string]any
		for _, text := range texts[1:] {
			reqs = append(reqs, map[string]any{"algorithm": "embed", "input": text})
		}
		var list struct{ Jobs []conveyor.Job }
		if resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": reqs}, &list); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
		list.Jobs = append([]conveyor.Job{first}, list.Jobs...)
		var out []*conveyor.Job
		for _, j := range list.Jobs {
			out = append(out, s.wait(j.ID))
		}
		return out
	}

	// Eight jobs: two batches of four, each job with its own output or
	// error, and the batch's print in its log.
	texts := []string{"a", "bb", "boom", "dddd", "e", "ff", "ggg", "hhhh"}
	for i, j := range submitAll(texts...) {
		if logs := jobLogs(s, j.ID); !slices.Contains(logs, "stdout: batch of 4") {
			t.Errorf("%s logs %q", texts[i], logs)
		}
		if texts[i] == "boom" {
			if j.Status != conveyor.StatusFailed || j.Error == nil || j.Error.Message != "ValueError: cannot embed boom" || j.Attempt != 1 {
				t.Errorf("boom: %+v %+v", j, j.Error)
			}
			continue
		}
		var out struct{ Len, Batch int }
		if j.Status != conveyor.StatusSucceeded || json.Unmarshal(j.Output, &out) != nil || out.Len != len(texts[i]) || out.Batch != 4 {
			t.Errorf("%s: %s %s", texts[i], j.Status, j.Output)
		}
	}

	// An exception fails the batch's four jobs as one attempt; each is
	// retried on its own and succeeds on its second attempt.
	for _, j := range submitAll("a", "flaky", "c", "d") {
		if j.Status != conveyor.StatusSucceeded || j.Attempt != 2 {
			t.Errorf("flaky batch: %s attempt %d %+v", j.Status, j.Attempt, j.Error)
		}
		// Its log has the print of each of its two batches.
		if logs := jobLogs(s, j.ID); len(slices.DeleteFunc(logs, func(l string) bool { return !strings.HasPrefix(l, "stdout: batch of ") })) != 2 {
			t.Errorf("flaky batch logs: %q", jobLogs(s, j.ID))
		}
	}

	// A list of the wrong length fails every job of the batch, for good.
	for _, j := range submitAll("a", "short", "c", "d") {
		if j.Status != conveyor.StatusFailed || j.Attempt != 1 || j.Error == nil ||
			j.Error.Message != "batch_length: embed returned 0 outputs for a batch of 4 inputs (a batch handler returns one output, or an Exception, per input)" {
			t.Errorf("short batch: %s %+v", j.Status, j.Error)
		}
	}

	// Synchronous calls join batches too: four at once make one.
	var wg sync.WaitGroup
	calls := make([]string, 4)
	for i := range calls {
		wg.Go(func() {
			resp, err := http.Post(s.base+"/v1/algorithms/embed/run", "application/json", strings.NewReader(fmt.Sprintf("%q", strings.Repeat("x", i+1))))
			if err != nil {
				calls[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			calls[i] = fmt.Sprintf("%d %s", resp.StatusCode, data)
		})
	}
	wg.Wait()
	for i, got := range calls {
		if want := fmt.Sprintf(`200 {"len":%d,"batch":4}`, i+1); strings.TrimSpace(got) != want {
			t.Errorf("call %d: %s, want %s", i, got, want)
		}
	}

	// Batch sizes in /metrics: 24 jobs and calls went to the worker in
	// batches of four but for the retries, which may come one by one.
	text := readAll(t, s.do("GET", "/metrics", nil, nil))
	for _, want := range []string{`conveyor_batch_size_sum{algorithm="embed"} 24`, `conveyor_batch_size_bucket{algorithm="embed",le="4"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// And in the runner's record (written each heartbeat), for the
	// dashboard.
	var b conveyor.BatchCount
	testenv.Eventually(t, "the runner's record to count the batches", func() bool {
		var rl conveyor.RunnerList
		s.do("GET", "/v1/runners", nil, &rl)
		if len(rl.Runners) == 1 {
			b = rl.Runners[0].Batches["embed"]
		}
		return b.Jobs == 24
	})
	if b.Batches < 6 || b.Batches > 24 || b.Last < 1 || b.Last > 4 {
		t.Errorf("the runner's batches of embed: %+v, want 24 jobs in 6 to 24 batches of at most 4", b)
	}
}
