// Command delay measures delayed jobs on `conveyor serve`: how late each
// starts after its run_at while -pending other delayed jobs wait (due
// later), and what the pending ones cost the server's memory. Probe jobs
// come due -gap apart, from a few seconds after they are submitted.
// Everything runs on loopback and stops by itself.
//
//	go build -o /tmp/conveyor ./cmd/conveyor
//	go run ./bench/delay -bin /tmp/conveyor -pending 10000 -probes 200 -gap 300ms
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor/bench/internal/serve"
)

func main() {
	bin := flag.String("bin", "conveyor", "the conveyor binary to measure")
	pending := flag.Int("pending", 10000, "delayed jobs waiting (due in an hour or more) while the probes run")
	probes := flag.Int("probes", 200, "delayed jobs whose lateness is measured")
	gap := flag.Duration("gap", 300*time.Millisecond, "time between the run_at of one probe and the next")
	queued := flag.Bool("queued", false, "baseline: the pending jobs are plain queued jobs instead (long sleep jobs that the runner's few workers do not reach), not delayed ones; no probes")
	flag.Parse()
	data, err := os.MkdirTemp("", "conveyor-delay-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(data)
	addr := serve.FreeAddr()
	base := "http://" + addr
	s := serve.Start(*bin, data, addr, time.Minute)
	defer s.Stop()

	time.Sleep(3 * time.Second)
	rss0, _ := s.Memory()
	later := time.Now().Add(time.Hour)
	t0 := time.Now()
	if *queued {
		submitQueued(base, *pending)
	} else {
		submit(base, *pending, func(i int) time.Time { return later.Add(time.Duration(i) * 100 * time.Millisecond) })
	}
	took := time.Since(t0)
	time.Sleep(3 * time.Second)
	rss1, _ := s.Memory()
	fmt.Fprintf(os.Stderr, "%d pending jobs submitted in %s\n", *pending, took.Round(time.Millisecond))
	if *queued {
		out, _ := json.Marshal(map[string]any{"pending_queued": *pending, "rss_before_mib": rss0 / 1024, "rss_pending_mib": rss1 / 1024,
			"rss_per_pending_job_bytes": (rss1 - rss0) * 1024 / max(*pending, 1), "submit_pending_ms": took.Milliseconds()})
		fmt.Println(string(out))
		return
	}

	first := time.Now().Add(3 * time.Second)
	ids := submit(base, *probes, func(i int) time.Time { return first.Add(time.Duration(i) * *gap) })
	time.Sleep(time.Until(first.Add(time.Duration(*probes) * *gap)))
	var late []time.Duration
	for _, id := range ids {
		var j struct {
			Status    string     `json:"status"`
			RunAt     *time.Time `json:"run_at"`
			StartedAt *time.Time `json:"started_at"`
		}
		for {
			if err := json.Unmarshal(serve.Get(base+"/v1/jobs/"+id+"?wait=10s"), &j); err != nil {
				log.Fatal(err)
			}
			if j.Status == "succeeded" || j.Status == "failed" || j.Status == "canceled" {
				break
			}
		}
		if j.Status != "succeeded" || j.RunAt == nil || j.StartedAt == nil {
			log.Fatalf("probe %s: %s", id, j.Status)
		}
		late = append(late, j.StartedAt.Sub(*j.RunAt))
	}
	slices.Sort(late)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out, _ := json.Marshal(map[string]any{
		"pending": *pending, "probes": *probes, "gap_ms": gap.Milliseconds(),
		"late_min_ms": ms(late[0]), "late_p50_ms": ms(late[len(late)/2]), "late_p99_ms": ms(late[len(late)*99/100]), "late_max_ms": ms(late[len(late)-1]),
		"early":          late[0] < 0,
		"rss_before_mib": rss0 / 1024, "rss_pending_mib": rss1 / 1024, "rss_per_pending_job_bytes": (rss1 - rss0) * 1024 / max(*pending, 1),
		"submit_pending_ms": took.Milliseconds(),
	})
	fmt.Println(string(out))
}

// submit submits n is_prime jobs in batches of 1,000, the i-th to run
// at at(i), and returns their ids.
func submit(base string, n int, at func(i int) time.Time) []string {
	return serve.Batch(base, n, func(i int) string {
		return fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"run_at":"%s"}`, 1000+i, at(i).UTC().Format(time.RFC3339Nano))
	})
}

// submitQueued submits n sleep jobs of an hour: all but the runner's few
// workers' wait queued.
func submitQueued(base string, n int) {
	serve.Batch(base, n, func(int) string { return `{"algorithm":"sleep","input":{"seconds":3600}}` })
}
