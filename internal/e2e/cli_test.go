package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestCLI drives a real server with the CLI as the README's tour does.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := serve(t, t.TempDir(), testenv.FreeAddr(t), "algorithms: [{kind: go}]\n")

	out, code := p.cli("", "submit", "is_prime", "--data", `{"n": 32416190071}`, "--wait")
	if code != 0 || !strings.Contains(out, "succeeded") || !strings.Contains(out, `"prime": true`) {
		t.Fatalf("submit --wait: exit %d\n%s", code, out)
	}

	out, code = p.cli(`{"n": 15}`, "submit", "is_prime", "--input", "-", "--json")
	var j conveyor.Job
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.ID == "" {
		t.Fatalf("submit --json: exit %d\n%s", code, out)
	}
	out, code = p.cli("", "wait", j.ID)
	if code != 0 || !strings.Contains(out, `"prime": false`) {
		t.Fatalf("wait: exit %d\n%s", code, out)
	}
	if out, code = p.cli("", "status", j.ID); code != 0 || !strings.Contains(out, j.ID) {
		t.Fatalf("status: exit %d\n%s", code, out)
	}

	// As README says: piped, submit prints the job id alone.
	out, code = p.cli(`{"n": 7}`, "submit", "is_prime", "--input", "-")
	if id := strings.TrimSuffix(out, "\n"); code != 0 || len(id) != 26 || strings.ContainsAny(id, " \n") {
		t.Fatalf("submit --input -: exit %d, want the job id alone:\n%s", code, out)
	}
	if out, code := p.cli("", "wait", strings.TrimSpace(out)); code != 0 || !strings.Contains(out, `"prime": true`) {
		t.Fatalf("wait for the printed id: exit %d\n%s", code, out)
	}

	// A schema violation is reported with its JSON pointer.
	out, code = p.cli("", "submit", "is_prime", "--data", `{"n": -3}`)
	if code == 0 || !strings.Contains(out, "/n") {
		t.Fatalf("bad input: exit %d\n%s", code, out)
	}

	// --each submits a job per line, in order, in one request.
	out, code = p.cli("{\"n\": 2}\n\n{\"n\": 9}\n{\"n\": 11}\n", "submit", "is_prime", "--each", "-", "--priority", "high")
	ids := strings.Fields(out)
	if code != 0 || len(ids) != 3 {
		t.Fatalf("submit --each: exit %d\n%s", code, out)
	}
	for i, want := range []string{`"prime": true`, `"prime": false`, `"prime": true`} {
		if out, code := p.cli("", "wait", ids[i]); code != 0 || !strings.Contains(out, want) {
			t.Fatalf("wait for line %d: exit %d\n%s", i+1, code, out)
		}
	}
	// A bad line refuses the batch, naming the line.
	out, code = p.cli("{\"n\": 2}\n{\"n\": -2}\n", "submit", "is_prime", "--each", "-")
	if code == 0 || !strings.Contains(out, "line 2") || !strings.Contains(out, "/jobs/1/input/n") {
		t.Fatalf("submit --each with a bad line: exit %d\n%s", code, out)
	}

	// A job that fails makes a waiting CLI exit 1.
	out, code = p.cli("", "submit", "sleep", "--data", `{"seconds": 0, "fail": "boom"}`, "--max-attempts", "1", "--wait")
	if code != 1 || !strings.Contains(out, "boom") {
		t.Fatalf("failing job: exit %d\n%s", code, out)
	}

	// Cancel a long job.
	out, code = p.cli("", "submit", "sleep", "--data", `{"seconds": 60}`, "--json")
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil {
		t.Fatalf("submit sleep: exit %d\n%s", code, out)
	}
	if out, code = p.cli("", "cancel", j.ID); code != 0 || !strings.Contains(out, "canceled") {
		t.Fatalf("cancel: exit %d\n%s", code, out)
	}

	// logs -f follows a running job to its end.
	out, code = p.cli("", "submit", "sleep", "--data", `{"seconds": 0.3}`, "--json")
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil {
		t.Fatalf("submit sleep: exit %d\n%s", code, out)
	}
	if out, code = p.cli("", "logs", "-f", j.ID); code != 0 {
		t.Fatalf("logs -f: exit %d\n%s", code, out)
	}
	if st := p.job(j.ID, ""); st.Status != conveyor.StatusSucceeded {
		t.Fatalf("logs -f returned before the job ended: %s", st.Status)
	}

	for _, args := range [][]string{{"jobs"}, {"algorithms"}, {"runners"}, {"version"}, {"watch", "--once"}} {
		if out, code := p.cli("", args...); code != 0 || strings.TrimSpace(out) == "" {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	if out, _ := p.cli("", "algorithms"); !strings.Contains(out, "is_prime") || !strings.Contains(out, "sleep") {
		t.Fatalf("algorithms:\n%s", out)
	}
}
