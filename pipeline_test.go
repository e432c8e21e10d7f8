package conveyor

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPipelineAfter(t *testing.T) {
	p := &Pipeline{Stages: []string{"a", "b", "c"}, MaxSteps: 4}
	out := json.RawMessage(`{"x":1}`)
	for _, tc := range []struct {
		name  string
		at    Stage
		route Route
		ends  bool
		next  string // the stage After leads to, or the error code
	}{
		{"on to the next", Stage{Name: "a", Index: 0}, Route{}, false, "b"},
		{"the last stage ends", Stage{Name: "c", Index: 2, Step: 2}, Route{}, true, EINVALID},
		{"final ends early", Stage{Name: "a", Index: 0}, Route{Final: true}, true, "b"},
		{"next jumps", Stage{Name: "a", Index: 0}, Route{Next: "c"}, false, "c"},
		{"next loops back from the last", Stage{Name: "c", Index: 2, Step: 2}, Route{Next: "a"}, false, "a"},
		{"next to a stage not declared", Stage{Name: "a", Index: 0}, Route{Next: "z"}, false, EINVALID},
		{"the step limit", Stage{Name: "b", Index: 1, Step: 3}, Route{}, false, EFAILED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Ends(&tc.at, tc.route); got != tc.ends {
				t.Errorf("Ends = %v, want %v", got, tc.ends)
			}
			next, err := p.After(&tc.at, tc.route, out)
			switch {
			case err != nil:
				if ErrorCode(err) != tc.next {
					t.Errorf("After: %v, want %s", err, tc.next)
				}
			case next.Name != tc.next || next.Step != tc.at.Step+1 || next.Of != 3 || string(next.Input) != string(out):
				t.Errorf("After = %+v, want stage %s at step %d", next, tc.next, tc.at.Step+1)
			}
		})
	}
}

func TestStagePercent(t *testing.T) {
	st := &Stage{Name: "b", Index: 1, Of: 4}
	for within, want := range map[float64]float64{0: 25, 50: 37.5, 100: 50} {
		if got := st.Percent(within); got != want {
			t.Errorf("stage 2 of 4 at %g%%: %g%% of the pipeline, want %g", within, got, want)
		}
	}
}

func TestJobStep(t *testing.T) {
	for _, tc := range []struct {
		job  Job
		want int
	}{
		{Job{}, 0},
		{Job{Stage: &Stage{Name: "a"}}, 0},
		{Job{Stage: &Stage{Name: "a", Index: 0, Step: 3}}, 3},
	} {
		if got := tc.job.Step(); got != tc.want {
			t.Errorf("Step of a job at stage %+v = %d, want %d", tc.job.Stage, got, tc.want)
		}
	}
}

func TestStageError(t *testing.T) {
	err := &JobError{Type: ErrorTypeError, Message: "no luck"}
	j := &Job{Stage: &Stage{Name: "b", Index: 1, Of: 3, Step: 4}}
	if got := j.StageError(err); got.Message != "stage b (2 of 3): no luck" || got.Type != err.Type || err.Message != "no luck" {
		t.Errorf("StageError at stage 2 of 3: %+v (and the original %+v)", got, err)
	}
	if got := (&Job{}).StageError(err); got != err {
		t.Errorf("StageError of a job of no pipeline: %+v, want the error as it is", got)
	}
}

func TestJobAdvance(t *testing.T) {
	j := &Job{ID: "j", Algorithm: "p", Status: StatusQueued, MaxAttempts: 2, CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	j.EnterPipeline(Pipeline{Stages: []string{"a", "b"}})
	if j.Pipeline.MaxSteps != DefaultMaxSteps || j.StageAlgorithm() != "a" {
		t.Fatalf("entered: %+v %+v", j.Pipeline, j.Stage)
	}
	if err := j.Start("r", j.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if err := j.Advance(2, json.RawMessage(`1`), Route{}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("advance by a superseded attempt: %v, want ECONFLICT", err)
	}
	if err := j.Advance(1, json.RawMessage(`1`), Route{}); err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusQueued || j.Attempt != 0 || j.StageAlgorithm() != "b" || string(j.StageInput()) != "1" || j.Progress.Percent != 50 {
		t.Fatalf("advanced: %s attempt %d at %+v, progress %+v", j.Status, j.Attempt, j.Stage, j.Progress)
	}
	if j.Finishes(Route{}) != true {
		t.Fatal("the last stage does not finish the job")
	}
	// The next stage starts, fails once and is retried: the job's
	// started_at stays the first stage's.
	later := j.CreatedAt.Add(time.Minute)
	if err := j.Start("r2", later); err != nil {
		t.Fatal(err)
	}
	if _, err := j.FailAttempt(1, &JobError{Message: "once"}, true, later, later); err != nil {
		t.Fatal(err)
	}
	if err := j.Start("r3", later.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if j.Attempt != 2 || j.Runner != "r3" || !j.StartedAt.Equal(j.CreatedAt) {
		t.Fatalf("retried stage b: attempt %d on %s, started_at %v; want 2 on r3, started at %v", j.Attempt, j.Runner, j.StartedAt, j.CreatedAt)
	}
}
