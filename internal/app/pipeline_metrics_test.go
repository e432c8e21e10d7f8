package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

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
