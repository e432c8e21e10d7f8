package app

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

// countInput is the input and output of count_up, a stage that loops.
type countInput struct {
	Count  int `json:"count"`
	Target int `json:"target"`
}

// stageGate, when set, holds the hold_stage stage until it is closed.
var stageGate atomic.Pointer[chan struct{}]

// registerPipelineStages registers Go stages that steer their pipelines.
var registerPipelineStages = sync.OnceFunc(func() {
	gokind.Register("hold_stage", func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if g := stageGate.Load(); g != nil {
			select {
			case <-*g:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return in, nil
	})
	gokind.Register("count_up", func(_ context.Context, in countInput) (conveyor.Routed, error) {
		if in.Count >= in.Target {
			return conveyor.Final(in), nil
		}
		in.Count++
		return conveyor.Next("count_up", in), nil // a loop: the same stage again
	})
	gokind.Register("stage_fail", func(_ context.Context, in map[string]any) (map[string]any, error) {
		return nil, conveyor.Permanent(errors.New("no luck"))
	})
	gokind.Register("jump_nowhere", func(_ context.Context, in map[string]any) (conveyor.Routed, error) {
		return conveyor.Next("nowhere", in), nil
	})
})

// pipelineConfig serves the example Go stages, the test stages, and the
// pipelines made of them; with python, also the describe stage and the
// example number_facts pipeline.
func pipelineConfig(t *testing.T, python string) config.Config {
	registerPipelineStages()
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms,
		config.Algorithm{Name: "count_loop", Pipeline: []string{"count_up"}, MaxSteps: 5},
		config.Algorithm{Name: "fails_late", Pipeline: []string{"factorize", "stage_fail"}},
		config.Algorithm{Name: "lost", Pipeline: []string{"factorize", "jump_nowhere", "render"}},
		config.Algorithm{Name: "held_first", Pipeline: []string{"hold_stage", "factorize"}},
	)
	if python != "" {
		dir, err := filepath.Abs("../../examples/python")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Algorithms = append(cfg.Algorithms,
			pyWorker(python, dir, "describe", config.Algorithm{Workers: config.Workers{Max: 2}}),
			config.Algorithm{Name: "number_facts", Pipeline: []string{"factorize", "describe", "render"}},
		)
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPipeline is the example pipeline end to end, Go and Python stages
// mixed: through all stages on the durable path and the sync path, ending
// early for a prime, and listed with each stage's workers.
func TestPipeline(t *testing.T) {
	s := startServer(t, pipelineConfig(t, testenv.Python(t)))

	var alg conveyor.AlgorithmInfo
	s.do("GET", "/v1/algorithms/number_facts", nil, &alg)
	if alg.Kind != conveyor.KindPipeline || alg.Pipeline == nil || len(alg.Pipeline.Stages) != 3 || !strings.Contains(string(alg.InputSchema), `"minimum":2`) {
		t.Fatalf("number_facts: %+v %s", alg, alg.InputSchema)
	}
	var list conveyor.AlgorithmList
	s.do("GET", "/v1/algorithms", nil, &list)
	workers := map[string]int{}
	for _, a := range list.Algorithms {
		workers[a.Name] = a.Workers
	}
	if workers["factorize"] != 4 || workers["describe"] != 2 || workers["render"] != 4 {
		t.Fatalf("stage workers %v, want factorize 4, describe 2, render 4", workers)
	}

	// Through every stage, durably.
	j := s.submit(map[string]any{"algorithm": "number_facts", "input": map[string]any{"n": 28}}, "", 202)
	if j.Stage == nil || j.Stage.Name != "factorize" || j.Stage.Index != 0 {
		t.Fatalf("queued job's stage %+v, want factorize", j.Stage)
	}
	j = s.wait(j.ID)
	if j.Status != conveyor.StatusSucceeded || !strings.Contains(string(j.Output), `"summary":"28 = 2 × 2 × 7: 6 divisors, perfect"`) {
		t.Fatalf("number_facts(28): %s %s %+v", j.Status, j.Output, j.Error)
	}
	if j.Stage.Name != "render" || j.Stage.Index != 2 || j.Stage.Step != 2 || j.Progress == nil || j.Progress.Percent != 100 {
		t.Fatalf("finished job's stage %+v, progress %+v", j.Stage, j.Progress)
	}

	// A prime ends the job at the first stage.
	j = s.wait(s.submit(map[string]any{"algorithm": "number_facts", "input": map[string]any{"n": 97}}, "", 202).ID)
	if j.Status != conveyor.StatusSucceeded || j.Stage.Name != "factorize" || string(j.Output) != `{"n":97,"prime":true,"summary":"97 is prime"}` {
		t.Fatalf("number_facts(97): %s at %+v: %s", j.Status, j.Stage, j.Output)
	}

	// The same on the synchronous path.
	resp := s.do("POST", "/v1/algorithms/number_facts/run", `{"n": 360}`, nil)
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "360 = 2 × 2 × 2 × 3 × 3 × 5: 24 divisors, abundant") {
		t.Fatalf("run number_facts(360): %d %s", resp.StatusCode, body)
	}
	resp = s.do("GET", "/v1/algorithms/number_facts/run?n=1000003", nil, nil)
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"prime":true`) {
		t.Fatalf("run number_facts(1000003): %d %s", resp.StatusCode, body)
	}
	// The first stage's schema guards the pipeline's input.
	if resp := s.do("POST", "/v1/algorithms/number_facts/jobs", `{"n": 1}`, nil); resp.StatusCode != 400 {
		t.Fatalf("n=1: %d, want 400", resp.StatusCode)
	}
}

// TestPipelineRouting: stages that loop until done, a step limit that stops
// a loop, a failing stage named in the job's error, a route to a stage the
// pipeline lacks — on the durable and the synchronous path.
func TestPipelineRouting(t *testing.T) {
	s := startServer(t, pipelineConfig(t, ""))
	for _, tc := range []struct {
		name, alg, input string
		status           conveyor.Status
		want             string // the output, or a part of the error message
	}{
		{"a loop that ends", "count_loop", `{"count": 0, "target": 4}`, conveyor.StatusSucceeded, `{"count":4,"target":4}`},
		{"a loop past the step limit", "count_loop", `{"count": 0, "target": 50}`, conveyor.StatusFailed, "reached its limit of 5 steps"},
		{"a failing stage", "fails_late", `{"n": 12}`, conveyor.StatusFailed, "stage stage_fail (2 of 2): no luck"},
		{"a route to nowhere", "lost", `{"n": 12}`, conveyor.StatusFailed, "named nowhere as the next stage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in json.RawMessage = []byte(tc.input)
			j := s.wait(s.submit(map[string]any{"algorithm": tc.alg, "input": in}, "", 202).ID)
			got := string(j.Output)
			if j.Error != nil {
				got = j.Error.Message
			}
			if j.Status != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("job: %s %q, want %s %q", j.Status, got, tc.status, tc.want)
			}
			if tc.alg == "count_loop" && j.Stage.Step > 4 {
				t.Fatalf("ran %d steps, past the limit of 5", j.Stage.Step+1)
			}

			resp := s.do("POST", "/v1/algorithms/"+tc.alg+"/run", tc.input, nil)
			body := readAll(t, resp)
			if wantCode := map[conveyor.Status]int{conveyor.StatusSucceeded: 200, conveyor.StatusFailed: 422}[tc.status]; resp.StatusCode != wantCode || !strings.Contains(body, tc.want) {
				t.Fatalf("run: %d %s, want %d with %q", resp.StatusCode, body, wantCode, tc.want)
			}
		})
	}
}

// TestPipelineTimes: a pipeline job's started_at is when its first stage
// started, and stays so while later stages run; finished_at is when the
// last stage ended, and attempt counts the attempts of the stage the job
// is at.
func TestPipelineTimes(t *testing.T) {
	s := startServer(t, pipelineConfig(t, ""))
	gate := make(chan struct{})
	stageGate.Store(&gate)
	defer stageGate.Store(nil)
	defer func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	}()

	j := s.submit(map[string]any{"algorithm": "held_first", "input": map[string]any{"n": 28}}, "", 202)
	var first conveyor.Job
	testenv.Eventually(t, "the first stage running", func() bool {
		s.do("GET", "/v1/jobs/"+j.ID, nil, &first)
		return first.Status == conveyor.StatusRunning && first.StartedAt != nil
	})
	if first.Stage.Name != "hold_stage" || first.Attempt != 1 {
		t.Fatalf("running at %+v, attempt %d; want hold_stage, attempt 1", first.Stage, first.Attempt)
	}
	close(gate)
	final := s.wait(j.ID)
	if final.Status != conveyor.StatusSucceeded || final.Stage.Name != "factorize" || final.Attempt != 1 {
		t.Fatalf("final: %s at %+v, attempt %d", final.Status, final.Stage, final.Attempt)
	}
	if final.StartedAt == nil || !final.StartedAt.Equal(*first.StartedAt) {
		t.Fatalf("started_at %v, want the first stage's start %v", final.StartedAt, first.StartedAt)
	}
	if final.FinishedAt == nil || !final.FinishedAt.After(*final.StartedAt) {
		t.Fatalf("finished_at %v, started_at %v", final.FinishedAt, final.StartedAt)
	}
}
