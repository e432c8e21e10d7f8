package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/config"
)

// BenchmarkProgressCoalescing measures what progress reporting costs the
// broker: a Python worker reports progress 10,000 times a second for a
// second per job, and a watch of the job store counts the writes to the
// job's record. The runner coalesces progress to one write per 50 ms tick,
// so it should see about 20 writes a second whatever the report rate, and
// the last report lands (the job ends at 100 %).
//
//	go test ./internal/app -run XXX -bench ProgressCoalescing -benchtime 3x
func BenchmarkProgressCoalescing(b *testing.B) {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		b.Skipf("no python3: %v", err)
	}
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/chatter.py")
	cfg := testConfig(b, b.TempDir())
	cfg.Algorithms = []config.Algorithm{{Kind: "worker", Dir: dir, Workers: config.Workers{Min: 1, Max: 1},
		Command: []string{strings.TrimSpace(string(out)), "-m", "conveyor.worker", "chatter"}}}
	cfg.WithDefaults()
	s := startServer(b, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := s.app.broker.WatchJobs(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	writes := map[string]int{}
	count := func(id string, until time.Time) bool { // drains the watch; true once id is final
		for {
			select {
			case e := <-w.Updates():
				if e == nil {
					continue
				}
				writes[e.Key()]++
				if e.Key() == id && strings.Contains(string(e.Value()), `"status":"succeeded"`) {
					return true
				}
			case <-time.After(time.Until(until)):
				return false
			}
		}
	}

	var reports, records int
	var busy time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		j := s.submit(map[string]any{"algorithm": "chatter", "input": map[string]any{"seconds": 1.0, "rate": 10000}}, "", 202)
		if !count(j.ID, time.Now().Add(30*time.Second)) {
			b.Fatalf("job %s did not succeed", j.ID)
		}
		busy += time.Since(start)
		done := s.wait(j.ID)
		n, _ := strconv.Atoi(string(done.Output))
		if done.Progress == nil || done.Progress.Percent != 100 || done.Progress.Message != "report "+string(done.Output) {
			b.Fatalf("the last progress did not land: %+v after %d reports", done.Progress, n)
		}
		reports += n
		records += writes[j.ID]
	}
	b.StopTimer()
	b.ReportMetric(float64(reports)/busy.Seconds(), "reports/s")
	b.ReportMetric(float64(records)/busy.Seconds(), "record-writes/s")
	b.ReportMetric(float64(records)/float64(b.N), "record-writes/job")
}
