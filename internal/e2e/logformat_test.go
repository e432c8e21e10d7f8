package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestJSONLogs: `serve --log-format json` writes one JSON object per line,
// and every line about a job names its job_id and algorithm.
func TestJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "conveyor.yaml")
	if err := os.WriteFile(cfg, []byte(`
algorithms:
  - {name: works, kind: exec, command: [sh, -c, 'echo "OUTPUT: 1"'], input_schema: {type: object}}
  - {name: fails, kind: exec, command: [sh, -c, 'echo "ERROR: nope"'], input_schema: {type: object}, max_attempts: 2}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	p := startProc(t, []string{"serve", "--config", cfg, "--log-format", "json", "--log-level", "debug"},
		[]string{"CONVEYOR_HTTP_ADDR=" + addr, "CONVEYOR_DATA_DIR=" + filepath.Join(dir, "data")}, "", addr)
	var ok, failed conveyor.Job
	if code, err := p.call("POST", "/v1/algorithms/works/jobs?wait=30s", `{}`, &ok); code != 200 || err != nil {
		t.Fatalf("works: %d %v", code, err)
	}
	if code, err := p.call("POST", "/v1/algorithms/fails/jobs?wait=30s", `{}`, &failed); code != 200 || err != nil || failed.Status != conveyor.StatusFailed {
		t.Fatalf("fails: %d %v %s", code, err, failed.Status)
	}

	// The runner logs the outcome after recording it: wait for its line.
	want := map[string]string{"job finished": ok.ID, "attempt failed; will retry": failed.ID, "job failed": failed.ID}
	var seen map[string]bool
	about := 0
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("saw %v of %v in the logs:\n%s", seen, want, p.logs)
		}
	})
	testenv.Eventually(t, "the outcomes logged", func() bool {
		seen, about = map[string]bool{}, 0
		for i, line := range strings.Split(strings.TrimSpace(p.logs.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %d is not JSON: %q", i+1, line)
			}
			if rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
				t.Fatalf("log line %d lacks msg, level or time: %q", i+1, line)
			}
			id, _ := rec["job_id"].(string)
			if id == "" {
				continue
			}
			about++
			if alg, _ := rec["algorithm"].(string); alg == "" {
				t.Fatalf("log line %d is about job %s but names no algorithm: %q", i+1, id, line)
			}
			if want[rec["msg"].(string)] == id {
				seen[rec["msg"].(string)] = true
			}
		}
		return len(seen) == len(want)
	})
	t.Logf("%d log lines about jobs, each with job_id and algorithm", about)
}
