//go:build unix

package workerkind

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkAsyncNapConcurrency8 runs 16 jobs of an async handler that
// sleeps 0.3 s on one process with concurrency 8, per iteration: two
// rounds of eight, about 0.6 s, against 4.8 s one at a time. The issue's
// target is under 1.6 s.
//
//	go test ./runner/workerkind -run '^$' -bench AsyncNap -benchtime 3x
func BenchmarkAsyncNapConcurrency8(b *testing.B) {
	hs, _ := provision(b, Kind{}, pyEntry(b, concurrency(8)))
	h := hs["asleep"]
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s := start(h, fmt.Sprintf("job-%d", i), "asleep", `{"seconds": 0.3}`)
				<-s.done
				if s.err != nil {
					b.Error(s.err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/16jobs")
}
