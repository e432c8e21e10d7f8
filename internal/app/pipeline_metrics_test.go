package app

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPipelineMetrics: /metrics counts a pipeline's job under the
// pipeline, whichever stage it ended in, and each stage that ended under
// its own algorithm as a stage of that pipeline; the stages' algorithms
// have no finished jobs of their own.
func TestPipelineMetrics(t *testing.T) {
	s := startServer(t, pipelineConfig(t, ""))
	// count_up runs three times (count 0, 1, 2) and ends the job.
	if j := s.submit(map[string]any{"algorithm": "count_loop", "input": map[string]any{"count": 0, "target": 2}}, "?wait=30s", http.StatusOK); j.Status != conveyor.StatusSucceeded {
		t.Fatalf("count_loop: %+v", j)
	}
	// factorize passes on, stage_fail fails the job.
	if j := s.submit(map[string]any{"algorithm": "fails_late", "input": map[string]any{"n": 28}}, "?wait=30s", http.StatusOK); j.Status != conveyor.StatusFailed {
		t.Fatalf("fails_late: %+v", j)
	}
	wants := []string{
		`conveyor_jobs_submitted_total{algorithm="count_loop"} 1`,
		`conveyor_jobs_finished_total{algorithm="count_loop",status="succeeded"} 1`,
		`conveyor_jobs_finished_total{algorithm="fails_late",status="failed"} 1`,
		`conveyor_stages_finished_total{algorithm="count_up",pipeline="count_loop",status="succeeded"} 3`,
		`conveyor_stages_finished_total{algorithm="factorize",pipeline="fails_late",status="succeeded"} 1`,
		`conveyor_stages_finished_total{algorithm="stage_fail",pipeline="fails_late",status="failed"} 1`,
	}
	// The runner counts a job once it has recorded its outcome, which a
	// waiting client may see first.
	var text string
	testenv.Eventually(t, "/metrics to count both jobs", func() bool {
		text = readAll(t, s.do("GET", "/metrics", nil, nil))
		for _, want := range wants {
			if !strings.Contains(text, want) {
				return false
			}
		}
		return true
	})
	// GET /v1/stats, which the dashboard's overview draws, counts the
	// stages under their algorithms as stages, and the jobs under the
	// pipelines.
	var stats struct {
		Algorithms []struct {
			Name                   string                  `json:"name"`
			Counts                 map[conveyor.Status]int `json:"counts"`
			StageCounts            map[conveyor.Status]int `json:"stage_counts"`
			StageFinishedPerMinute []int                   `json:"stage_finished_per_minute"`
		} `json:"algorithms"`
	}
	check := func() (problems []string) {
		wantStages := map[string]map[conveyor.Status]int{
			"count_up":   {conveyor.StatusSucceeded: 3},
			"factorize":  {conveyor.StatusSucceeded: 1},
			"stage_fail": {conveyor.StatusFailed: 1},
			"count_loop": nil,
		}
		s.do("GET", "/v1/stats", nil, &stats)
		for _, a := range stats.Algorithms {
			want, ok := wantStages[a.Name]
			if !ok {
				continue
			}
			delete(wantStages, a.Name)
			if !maps.Equal(a.StageCounts, want) {
				problems = append(problems, fmt.Sprintf("%s ran as a stage %v, want %v", a.Name, a.StageCounts, want))
			}
			sum := 0
			for _, n := range a.StageFinishedPerMinute {
				sum += n
			}
			if total := want[conveyor.StatusSucceeded] + want[conveyor.StatusFailed]; sum != total {
				problems = append(problems, fmt.Sprintf("%s stage_finished_per_minute sums to %d, want %d", a.Name, sum, total))
			}
			if a.Name != "count_loop" && a.Counts[conveyor.StatusSucceeded]+a.Counts[conveyor.StatusFailed] != 0 {
				problems = append(problems, fmt.Sprintf("jobs counted under the stage %s: %v", a.Name, a.Counts))
			}
		}
		if len(wantStages) > 0 {
			problems = append(problems, fmt.Sprintf("no entry for %v", wantStages))
		}
		return problems
	}
	problems := check()
	for deadline := time.Now().Add(5 * time.Second); len(problems) > 0 && time.Now().Before(deadline); problems = check() {
		time.Sleep(50 * time.Millisecond)
	}
	if len(problems) > 0 {
		t.Errorf("/v1/stats: %s", strings.Join(problems, "; "))
	}
	for _, stage := range []string{"count_up", "factorize", "stage_fail"} {
		if regexp.MustCompile(`conveyor_jobs_finished_total\{algorithm="` + stage + `",status="\w+"\} [1-9]`).MatchString(text) {
			t.Errorf("/metrics counts finished jobs under the stage %s:\n%s", stage, grepLines(text, "conveyor_jobs_finished_total"))
		}
	}
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
