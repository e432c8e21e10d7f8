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

// TestReadmeTour runs the README's example config from the repository root,
// as a new user would, and its exec algorithm written in Python.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	p := serveFile(t, t.TempDir(), testenv.FreeAddr(t), "examples/conveyor.yaml", root)

	var algs conveyor.AlgorithmList
	if code, err := p.call("GET", "/v1/algorithms", "", &algs); err != nil || code != 200 {
		t.Fatalf("algorithms: %d %v", code, err)
	}
	var names []string
	for _, a := range algs.Algorithms {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "batch,classify,describe,factorize,is_prime,list_primes,number_facts,render,sleep,train,wordcount" {
		t.Fatalf("algorithms: %v", names)
	}

	var j conveyor.Job
	code, err := p.call("POST", "/v1/algorithms/wordcount/jobs?wait=30s", `{"text": "the quick brown fox"}`, &j)
	if err != nil || code != 200 || j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"words":4,"longest":"quick"}` {
		t.Fatalf("wordcount: %d %v %+v output %s error %+v\n%s", code, err, j, j.Output, j.Error, p.logs)
	}
	if code, _ := p.call("POST", "/v1/algorithms/wordcount/jobs", `{"words": 1}`, nil); code != 400 {
		t.Fatalf("wordcount without text: %d, want 400", code)
	}
	// The pipeline: Go, Python, Go.
	code, err = p.call("POST", "/v1/algorithms/number_facts/jobs?wait=30s", `{"n": 28}`, &j)
	if err != nil || code != 200 || !strings.Contains(string(j.Output), "28 = 2 × 2 × 7: 6 divisors, perfect") {
		t.Fatalf("number_facts: %d %v output %s error %+v\n%s", code, err, j.Output, j.Error, p.logs)
	}
	var prime struct {
		N     int64 `json:"n"`
		Prime bool  `json:"prime"`
	}
	if code, err := p.call("GET", "/v1/algorithms/is_prime/run?n=32416190071", "", &prime); err != nil || code != 200 || !prime.Prime || prime.N != 32416190071 {
		t.Fatalf("sync call: %d %v %+v", code, err, prime)
	}
	out, exit := p.cli("", "submit", "wordcount", "--data", `{"text": "hello big world"}`, "--wait")
	if exit != 0 || !strings.Contains(out, `"words": 3`) {
		t.Fatalf("CLI: exit %d\n%s", exit, out)
	}

	// The Python worker examples, served by the SDK bundled in the binary.
	code, err = p.call("POST", "/v1/algorithms/classify/jobs?wait=30s", `{"texts": ["the keeper saved a penalty", "fresh bread and olive oil"]}`, &j)
	if err != nil || code != 200 || j.Status != conveyor.StatusSucceeded ||
		!strings.Contains(string(j.Output), `"label":"sports"`) || !strings.Contains(string(j.Output), `"label":"food"`) || j.Progress.Percent != 100 {
		t.Fatalf("classify: %d %v %+v output %s error %+v\n%s", code, err, j, j.Output, j.Error, p.logs)
	}
	if code, _ := p.call("POST", "/v1/algorithms/batch/jobs", `{"seconds": "soon"}`, nil); code != 400 {
		t.Fatalf("batch with a string for seconds: %d, want 400", code)
	}
	code, err = p.call("POST", "/v1/algorithms/batch/jobs?wait=30s", `{"items": 5, "seconds": 0.1}`, &j)
	if err != nil || code != 200 || j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"items":5,"checksum":30}` {
		t.Fatalf("batch: %d %v %+v output %s error %+v\n%s", code, err, j, j.Output, j.Error, p.logs)
	}

	// Files in, artifacts out (the README's train session): the CLI
	// uploads a CSV and submits train on it; the model comes back with
	// conveyor download.
	csv := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(csv, []byte("age,income,city\n30,1000,a\n50,3000,b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, exit = p.cli("", "submit", "train", "--file", "data=@"+csv, "--wait", "--json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &j); exit != 0 || err != nil || len(j.Artifacts) != 1 || j.Artifacts[0].Name != "model.json" {
		t.Fatalf("train: exit %d %v\n%s", exit, err, out)
	}
	model := filepath.Join(t.TempDir(), "model.json")
	if out, exit := p.cli("", "download", j.ID, "model.json", "-o", model); exit != 0 {
		t.Fatalf("download: exit %d\n%s", exit, out)
	}
	if b, err := os.ReadFile(model); err != nil || !strings.Contains(string(b), `"income": {`) || !strings.Contains(string(b), `"mean": 2000.0`) {
		t.Fatalf("model.json: %v\n%s", err, b)
	}

	// Later and on a clock.
	code, err = p.call("POST", "/v1/jobs", `{"algorithm": "is_prime", "input": {"n": 7}, "delay": "90s"}`, &j)
	if err != nil || code != 202 || j.Status != conveyor.StatusScheduled || j.RunAt == nil {
		t.Fatalf("a delayed job: %d %v %+v", code, err, j)
	}
	if out, exit := p.cli("", "schedule", "add", "nightly", "is_prime", "--cron", "0 2 * * *", "--timezone", "Europe/Paris", "--data", `{"n": 7}`); exit != 0 || !strings.Contains(out, "cron 0 2 * * * (Europe/Paris)") {
		t.Fatalf("schedule add: exit %d\n%s", exit, out)
	}
	if out, exit := p.cli("", "schedules"); exit != 0 || !strings.Contains(out, "nightly") {
		t.Fatalf("schedules: exit %d\n%s", exit, out)
	}
	out, exit = p.cli("", "schedule", "trigger", "nightly")
	if id := strings.TrimSpace(out); exit != 0 || p.job(id, "30s").Labels["schedule"] != "nightly" {
		t.Fatalf("schedule trigger: exit %d\n%s", exit, out)
	}
}
