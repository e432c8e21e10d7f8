package app

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPythonClientEvents drives the real server with the Python SDK's
// client: submit, follow the job's events to the end, read the result.
func TestPythonClientEvents(t *testing.T) {
	py := testenv.Python(t)
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
