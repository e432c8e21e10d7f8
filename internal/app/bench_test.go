package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// BenchmarkSubmitWait measures the whole path of a short job through a real
// server: HTTP submit with ?wait=, store, queue, runner, result, answer.
// Run with -cpu to vary client parallelism; compare runs with benchstat.
//
//	go test ./internal/app -run XXX -bench SubmitWait -benchtime 5000x
func BenchmarkSubmitWait(b *testing.B) {
	s, client := benchServer(b)
	url := s.base + "/v1/algorithms/is_prime/jobs?wait=30s"
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(`{"n":7}`)))
			if err != nil {
				b.Error(err)
				return
			}
			var j conveyor.Job
			err = json.NewDecoder(resp.Body).Decode(&j)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || j.Status != conveyor.StatusSucceeded {
				b.Errorf("job %+v: %v", j, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkCall is the synchronous path with a trivial input: GET
// …/is_prime/run?n=7 over HTTP, the W1 workload of bench/sync.sh.
func BenchmarkCall(b *testing.B) {
	s, client := benchServer(b)
	url := s.base + "/v1/algorithms/is_prime/run?n=7"
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// benchServer starts a server of the Go algorithms with 8 workers, and a
// client that keeps enough connections open for parallel benchmarks.
func benchServer(b *testing.B) (*server, *http.Client) {
	cfg := testConfig(b, b.TempDir())
	cfg.Algorithms = cfg.Algorithms[:1]
	cfg.Algorithms[0].Workers.Max = 8
	return startServer(b, cfg), &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}
