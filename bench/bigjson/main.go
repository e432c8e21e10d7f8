// Command bigjson measures what large JSON payloads cost `conveyor serve`:
// -jobs jobs (default 4), one after the other, each with a -size MB JSON
// input (default 4.5), run by a Python handler on one persistent worker
// process; each job is submitted with ?wait= and then read back whole
// (GET /v1/jobs/{id}), and serve's VmHWM is read from /proc after each.
// With -output large the handler returns its input, so the output is as
// large. Several builds are measured in turn in one run (-bin
// label=path,…), each on a fresh data dir, so that a baseline and a
// change are compared on the same machine at the same time. The figures
// are printed as one JSON line per build.
//
//	git worktree add /tmp/base 1e612c7 && (cd /tmp/base && go build -o /tmp/conveyor-base ./cmd/conveyor)
//	go build -o /tmp/conveyor ./cmd/conveyor
//	go run ./bench/bigjson -bin base=/tmp/conveyor-base,new=/tmp/conveyor
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor/bench/internal/serve"
)

// module is the Python algorithms: count answers a few bytes, echo its
// whole input.
const module = `def run_count(rows: list) -> dict:
    return {"rows": len(rows)}


def run_echo(rows: list) -> dict:
    return {"rows": rows}
`

func main() {
	bins := flag.String("bin", "conveyor", "the builds to measure, in turn: label=path,… (or one path)")
	jobs := flag.Int("jobs", 4, "jobs per build, one after the other")
	sizeMB := flag.Float64("size", 4.5, "the JSON input's size in MB")
	output := flag.String("output", "small", "the output: small (a count) or large (the input back)")
	python := flag.String("python", "python3", "the Python of the worker")
	memLimit := flag.String("gomemlimit", "", "GOMEMLIMIT for serve (e.g. 128MiB); empty: none")
	pprof := flag.String("pprof", "", "serve's --pprof address; with it, the allocation profile of each build is saved as <label>.allocs")
	settle := flag.Duration("settle", 2*time.Second, "how long serve idles before and after the jobs")
	flag.Parse()
	alg := map[string]string{"small": "count", "large": "echo"}[*output]
	if alg == "" {
		log.Fatalf("-output %q: want small or large", *output)
	}
	os.Unsetenv("GOMEMLIMIT")
	if *memLimit != "" {
		os.Setenv("GOMEMLIMIT", *memLimit)
	}
	body, rows := request(alg, int(*sizeMB*1e6))
	for _, b := range strings.Split(*bins, ",") {
		label, bin, ok := strings.Cut(b, "=")
		if !ok {
			label, bin = filepath.Base(b), b
		}
		measure(label, bin, *python, *pprof, body, rows, *jobs, *settle)
	}
}

// measure runs the jobs through a fresh serve of bin and prints its
// figures.
func measure(label, bin, python, pprof string, body []byte, rows, jobs int, settle time.Duration) {
	tmp, err := os.MkdirTemp("", "conveyor-bench-bigjson-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "bigjob.py"), []byte(module), 0o644); err != nil {
		log.Fatal(err)
	}
	cfg := filepath.Join(tmp, "conveyor.yaml")
	yaml := fmt.Sprintf("algorithms:\n  - {kind: worker, command: [%q, -m, conveyor.worker, bigjob], env: {PYTHONPATH: %q}, workers: {min: 1, max: 1}}\n", python, tmp)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		log.Fatal(err)
	}
	os.Setenv("CONVEYOR_CONFIG", cfg)
	var args []string
	if pprof != "" {
		args = append(args, "--pprof", pprof)
	}
	s := serve.Start(bin, filepath.Join(tmp, "data"), serve.FreeAddr(), time.Minute, args...)
	defer s.Stop()
	waitAlgorithm(s.Base, "count")
	time.Sleep(settle)
	_, hwmIdle := s.Memory()
	var hwms []int
	var took []int64
	for range jobs {
		t0 := time.Now()
		run(s.Base, body, rows)
		took = append(took, time.Since(t0).Milliseconds())
		_, hwm := s.Memory()
		hwms = append(hwms, hwm/1024)
	}
	if pprof != "" {
		// A profile is as of the last garbage collection but one: ask
		// for two, keep the second.
		serve.Get("http://" + pprof + "/debug/pprof/allocs?gc=1")
		if err := os.WriteFile(label+".allocs", serve.Get("http://"+pprof+"/debug/pprof/allocs?gc=1"), 0o644); err != nil {
			log.Fatal(err)
		}
		_ = os.WriteFile(label+".heap", serve.Get("http://"+pprof+"/debug/pprof/heap?gc=1"), 0o644)
		heap := serve.Get("http://" + pprof + "/debug/pprof/heap?debug=1")
		if i := bytes.Index(heap, []byte("# runtime.MemStats")); i >= 0 {
			heap = heap[i:]
		}
		if err := os.WriteFile(label+".memstats", heap, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	time.Sleep(settle)
	rss, hwm := s.Memory()
	out := map[string]any{
		"build":           label,
		"jobs":            jobs,
		"input_bytes":     len(body),
		"hwm_idle_mib":    hwmIdle / 1024,
		"hwm_per_job_mib": hwms,
		"hwm_mib":         hwm / 1024,
		"rss_end_mib":     rss / 1024,
		"job_ms":          took,
		"gomemlimit":      os.Getenv("GOMEMLIMIT"),
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

// request is a submit request for alg whose input is about size bytes:
// {"rows": [{…}, …]}; it returns it and how many rows it has.
func request(alg string, size int) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString(`{"algorithm":"` + alg + `","input":{"rows":[`)
	n := 0
	for b.Len() < size {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"row-%08d","score":%d.%06d,"tags":["alpha","beta"],"ok":true}`, n, n, n%1000, n%999983)
		n++
	}
	b.WriteString(`]}}`)
	return b.Bytes(), n
}

// run submits one job with ?wait=, waits for it to succeed, reads it
// back whole and checks its input and output.
func run(base string, body []byte, rows int) {
	j := serve.Run(base, bytes.NewReader(body))
	if j.Status != "succeeded" {
		log.Fatalf("job %s: %s %s", j.ID, j.Status, j.Error)
	}
	var full struct {
		Input struct {
			Rows []json.RawMessage `json:"rows"`
		} `json:"input"`
		Output struct {
			Rows json.RawMessage `json:"rows"`
		} `json:"output"`
	}
	data := serve.Get(base + "/v1/jobs/" + j.ID)
	if err := json.Unmarshal(data, &full); err != nil {
		log.Fatalf("read back: %v: %.300s", err, data)
	}
	if len(full.Input.Rows) != rows {
		log.Fatalf("job %s: read back %d rows of input, want %d", j.ID, len(full.Input.Rows), rows)
	}
	if o := string(full.Output.Rows); o != strconv.Itoa(rows) && !strings.HasPrefix(o, "[") {
		log.Fatalf("job %s: output %.100s", j.ID, o)
	}
}

// waitAlgorithm waits until the registry has alg (the worker said hello).
func waitAlgorithm(base, alg string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/v1/algorithms/" + alg)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("algorithm %s not registered within a minute", alg)
}
