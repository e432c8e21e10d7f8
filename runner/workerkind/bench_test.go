//go:build unix

package workerkind

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

// BenchmarkNoopOverhead measures the per-job overhead of a Python no-op
// handler run by a pool of persistent worker processes, against the exec
// kind running the same function in a new process per job, with 1 and 2
// jobs at a time (and as many worker processes), in one run; and the
// worker kind with twice as many jobs in flight as processes
// ("worker/N/ahead"), each process holding its next job (prefetch):
//
//	go test ./runner/workerkind -run XXX -bench NoopOverhead -benchtime 200x
//
// It calls the kinds' handlers directly: what it measures is the kind,
// not the broker or HTTP around it.
func BenchmarkNoopOverhead(b *testing.B) {
	py := testenv.Python(b)
	dir, _ := filepath.Abs("testdata")
	for _, kind := range []string{"worker", "worker-ahead", "exec"} {
		for _, n := range []int{1, 2} {
			kind, name, callers := kind, fmt.Sprintf("%s/%d", kind, n), n
			if kind == "worker-ahead" {
				kind, name, callers = "worker", fmt.Sprintf("worker/%d/ahead", n), 2*n
			}
			b.Run(name, func(b *testing.B) {
				common := config.Algorithm{Workers: config.Workers{Min: n, Max: n}}
				var entry config.Algorithm
				if kind == "worker" {
					entry = Entry(common, Options{Process: spawn.Options{Command: []string{py, "-m", "conveyor.worker", "noop"}, Dir: dir}})
				} else {
					common.Name = "noop"
					entry = execkind.Entry(common, execkind.Options{Command: []string{py, "noop_exec.py"}, Dir: dir, Env: map[string]string{"PYTHONPATH": dir}})
				}
				entry.WithDefaults()
				k, _ := runner.LookupKind(kind)
				served, err := k.Provision(context.Background(), entry)
				if err != nil {
					b.Fatal(err)
				}
				h := served[0].Handler
				defer func() {
					if c, ok := h.(interface{ Close() error }); ok {
						_ = c.Close()
					}
				}()
				if kind == "worker" { // wait for min processes
					for pl := poolOf(h); ; {
						if n2, _ := pl.size(); n2 == n {
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				benchJobs(b, h, callers)
			})
		}
	}
}

// benchJobs runs b.N no-op jobs, conc at a time, and reports jobs/s and
// the median and 99th percentile latency of one job.
func benchJobs(b *testing.B, h runner.Handler, conc int) {
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range conc {
		wg.Go(func() {
			for i := g; i < b.N; i += conc {
				t0 := time.Now()
				tk := task("noop", `{}`, &recorder{})
				tk.JobID = fmt.Sprint("job-", i) // one process may hold two
				if _, err := h.Run(context.Background(), tk); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
