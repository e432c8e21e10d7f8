//go:build unix

package workerkind

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
)

// BenchmarkBatchCost runs jobs of bench/batch/costmod.py — a model whose
// call costs 5 ms + 0.1 ms per input — one input per call (cost_one) and
// in batches of up to 32 (cost_batch), on one worker process, with as
// many jobs at once as the runner would give each (1 and 64), in one run:
//
//	go test ./runner/workerkind -run '^$' -bench BatchCost -benchtime 2000x
//
// It calls the kind's handlers directly: what it measures is the kind,
// not the broker or HTTP around it (bench/batch.sh measures the whole).
func BenchmarkBatchCost(b *testing.B) {
	dir, _ := filepath.Abs("../../bench/batch")
	for _, tc := range []struct {
		alg  string
		conc int
	}{{"cost_one", 1}, {"cost_batch", 64}} {
		b.Run(tc.alg, func(b *testing.B) {
			entry := Entry(config.Algorithm{Name: tc.alg, Workers: config.Workers{Min: 1, Max: 1}},
				Options{Process: spawn.Options{Command: []string{testenv.Python(b), "-m", "conveyor.worker", "costmod"}, Dir: dir}})
			entry.WithDefaults()
			hs, _ := provision(b, Kind{}, entry)
			h := hs[tc.alg]
			b.ResetTimer()
			runAll(b, h, tc.alg, tc.conc)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// runAll runs b.N jobs of alg on h, conc at a time.
func runAll(b *testing.B, h runner.Handler, alg string, conc int) {
	var wg sync.WaitGroup
	for g := range conc {
		wg.Go(func() {
			for i := g; i < b.N; i += conc {
				t := task(alg, fmt.Sprintf(`{"n": %d}`, i), &recorder{})
				t.JobID = fmt.Sprintf("job-%d", i)
				if _, err := h.Run(context.Background(), t); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
