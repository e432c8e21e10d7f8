package app

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/runner/runnertest"
)

// TestPythonClientEvents drives the real server with the Python SDK's
// client: submit, follow the job's events to the end, read the result.
func TestPythonClientEvents(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	s := startServer(t, testConfig(t, t.TempDir()))
	sdk, _ := filepath.Abs("../../sdk/python")
	script := fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q)
job = c.submit("sleep", {"seconds": 0.5})
names = [e["event"] for e in c.events(job["id"])]
assert names[0] == "status" and names[-1] == "end", names
assert names.count("progress") >= 2, names
print("final", c.get(job["id"])["status"], len(names))
`, s.base)
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+sdk)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "final succeeded") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}

// TestPythonClientBatch submits a batch with the Python SDK's client and
// waits for every job; a batch with a bad job raises an APIError that names
// it, and queues nothing.
func TestPythonClientBatch(t *testing.T) {
	py := runnertest.Python(t)
	s := startServer(t, testConfig(t, t.TempDir()))
	sdk, _ := filepath.Abs("../../sdk/python")
	script := fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q)
jobs = c.submit_batch([{"algorithm": "is_prime", "input": {"n": n}} for n in (4, 5, 6)])
print("outputs", [c.wait(j["id"], timeout=30)["output"]["prime"] for j in jobs])
try:
    c.submit_batch([{"algorithm": "is_prime", "input": {"n": 1}}, {"algorithm": "is_prime", "input": {"n": "x"}}])
except conveyor.APIError as e:
    print("refused", e.status, e.problem["detail"].split(":")[0], e.problem["errors"][0]["pointer"])
print("listed", len(c._call("GET", "/v1/jobs")["jobs"]))
`, s.base)
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+sdk)
	out, err := cmd.CombinedOutput()
	want := "outputs [False, True, False]\nrefused 400 jobs[1] /jobs/1/input/n\nlisted 3\n"
	if err != nil || string(out) != want {
		t.Fatalf("python client: %v\n%s\nwant\n%s", err, out, want)
	}
}
