package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/broker"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// chatter is a server with the chatter Python worker (testdata/chatter.py),
// which reports progress as often as asked, and a watch of its job store.
type chatter struct {
	s *server
	w chan broker.Entry
}

func startChatter(tb testing.TB) *chatter {
	python := testenv.Python(tb)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/chatter.py") // so that go test's cache sees it
	cfg := testConfig(tb, tb.TempDir())
	cfg.Algorithms = []config.Algorithm{pyWorker(python, dir, "chatter", config.Algorithm{Workers: config.Workers{Min: 1, Max: 1}})}
	cfg.WithDefaults()
	s := startServer(tb, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	w := make(chan broker.Entry, 1024)
	done, err := s.app.broker.Watch(ctx, broker.JobsBucket, broker.WatchConfig{}, func(e broker.Entry) {
		select {
		case w <- e:
		case <-ctx.Done():
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); <-done })
	return &chatter{s: s, w: w}
}

// run runs one job reporting progress rate times a second for seconds,
// and returns how many reports it sent, how many times its record was
// written, and how long it took from submit to its final write.
func (c *chatter) run(tb testing.TB, seconds float64, rate int) (reports, writes int, took time.Duration) {
	tb.Helper()
	start := time.Now()
	j := c.s.submit(map[string]any{"algorithm": "chatter", "input": map[string]any{"seconds": seconds, "rate": rate}}, "", 202)
	deadline := time.After(60 * time.Second)
	for final := false; !final; {
		select {
		case e := <-c.w:
			if e.Key == j.ID {
				writes++
				final = strings.Contains(string(e.Value), `"status":"succeeded"`)
			}
		case <-deadline:
			tb.Fatalf("job %s did not succeed", j.ID)
		}
	}
	took = time.Since(start)
	done := c.s.wait(j.ID)
	reports, _ = strconv.Atoi(string(done.Output))
	if done.Progress == nil || done.Progress.Percent != 100 || done.Progress.Message != "report "+string(done.Output) {
		tb.Fatalf("the last progress did not land: %+v after %d reports", done.Progress, reports)
	}
	return reports, writes, took
}

// TestProgressCoalesced: a worker reporting progress thousands of times a
// second costs its job record a write per runner tick (50 ms), not one per
// report, and the last report lands.
func TestProgressCoalesced(t *testing.T) {
	c := startChatter(t)
	reports, writes, took := c.run(t, 0.5, 4000)
	// Creation, running and the outcome, plus at most one progress write
	// per tick — twice that, for a tick that lands beside another write.
	limit := 3 + 2*int(took/(50*time.Millisecond)+1)
	if reports != 2000 || writes > limit {
		t.Fatalf("%d reports in %v made %d record writes, want at most %d", reports, took, writes, limit)
	}
	t.Logf("%d reports in %v: %d record writes", reports, took.Round(time.Millisecond), writes)
}

// TestProgressWaitsOutStartDelay: a job that reports progress from its
// first moment is still first written as running only once it has run for
// the runner's start delay (20 ms), as a job that reports nothing is — so
// a short job costs one write, its outcome. Each of a few jobs is checked,
// since the runner's tick may fall anywhere in those 20 ms. Each job runs
// 100 ms, well past the delay, so running records are written: a test that
// saw none would have checked nothing.
func TestProgressWaitsOutStartDelay(t *testing.T) {
	c := startChatter(t)
	running := 0
	for range 10 {
		j := c.s.submit(map[string]any{"algorithm": "chatter", "input": map[string]any{"seconds": 0.1, "rate": 2000}}, "", 202)
		deadline := time.After(60 * time.Second)
		for final := false; !final; {
			select {
			case e := <-c.w:
				if e.Key != j.ID {
					continue
				}
				var rec conveyor.Job
				if err := json.Unmarshal(e.Value, &rec); err != nil {
					t.Fatal(err)
				}
				if rec.Status == conveyor.StatusRunning {
					running++
					if ran := e.Created.Sub(*rec.StartedAt); ran < 20*time.Millisecond {
						t.Fatalf("job %s was written as running %v after it started, before the start delay", j.ID, ran)
					}
				}
				final = rec.Status.Terminal()
			case <-deadline:
				t.Fatalf("job %s did not finish", j.ID)
			}
		}
	}
	if running == 0 {
		t.Fatal("no job of 100 ms was ever written as running: the start delay went unchecked")
	}
	t.Logf("%d running records in 10 jobs", running)
}

// BenchmarkProgressCoalescing measures what progress reporting costs the
// broker: a Python worker reports progress 10,000 times a second for a
// second per job, and a watch of the job store counts the writes to the
// job's record. The runner coalesces progress to one write per 50 ms tick,
// so it should see about 20 writes a second whatever the report rate, and
// the last report lands (the job ends at 100 %).
//
//	go test ./internal/app -run XXX -bench ProgressCoalescing -benchtime 3x
func BenchmarkProgressCoalescing(b *testing.B) {
	c := startChatter(b)
	var reports, writes int
	var busy time.Duration
	b.ResetTimer()
	for range b.N {
		r, w, took := c.run(b, 1, 10000)
		reports, writes, busy = reports+r, writes+w, busy+took
	}
	b.StopTimer()
	b.ReportMetric(float64(reports)/busy.Seconds(), "reports/s")
	b.ReportMetric(float64(writes)/busy.Seconds(), "record-writes/s")
	b.ReportMetric(float64(writes)/float64(b.N), "record-writes/job")
}
