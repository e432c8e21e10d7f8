// Command history measures what retained jobs cost `conveyor serve`: it
// runs -jobs is_prime jobs through a fresh server (in batches), stops it,
// starts it again on the same data dir, and reports the restarted
// server's resident memory, how long it took to be ready and to count
// every job in /v1/stats, and the latency of filtered lists. Everything
// runs on loopback and stops by itself.
//
//	go build -o /tmp/conveyor ./cmd/conveyor
//	go run ./bench/history -bin /tmp/conveyor -jobs 300000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor/bench/internal/serve"
)

func main() {
	bin := flag.String("bin", "conveyor", "the conveyor binary to measure")
	jobs := flag.Int("jobs", 30000, "jobs to run before the restart")
	dir := flag.String("data", "", "data dir (default: a temporary one, removed after)")
	lists := flag.Int("lists", 100, "requests per list query measured")
	drain := flag.Bool("drain", true, "before the restart, wait until every finished job is archived (conveyor_jobs_to_archive 0), as under a steady load")
	settle := flag.Duration("settle", 0, "wait this long before the restart: 2m10s outlasts the broker's 2-minute window of message ids, which holds every job of a burst")
	flag.Parse()
	data := *dir
	if data == "" {
		d, err := os.MkdirTemp("", "conveyor-history-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		data = d
	}
	addr := serve.FreeAddr()
	base := "http://" + addr

	s := serve.Start(*bin, data, addr, 5*time.Minute)
	t0 := time.Now()
	submit(base, *jobs)
	waitCounted(base, *jobs, 30*time.Minute)
	fmt.Fprintf(os.Stderr, "ran %d jobs in %s\n", *jobs, time.Since(t0).Round(time.Millisecond))
	if *drain {
		// As a server under a steady load would be: every finished job
		// archived (a burst leaves some to archive at the next start).
		waitArchived(base, 10*time.Minute)
		fmt.Fprintf(os.Stderr, "archived in %s\n", time.Since(t0).Round(time.Millisecond))
	}
	s.Stop()
	time.Sleep(*settle)

	began := time.Now()
	s = serve.Start(*bin, data, addr, 5*time.Minute)
	ready := time.Since(began)
	waitCounted(base, *jobs, 5*time.Minute)
	caughtUp := time.Since(began)
	time.Sleep(3 * time.Second) // let the start-up's garbage go
	rss, hwm := s.Memory()
	res := map[string]any{
		"jobs": *jobs, "ready_ms": ready.Milliseconds(), "caught_up_ms": caughtUp.Milliseconds(),
		"rss_mib": rss / 1024, "hwm_mib": hwm / 1024,
	}
	since := url(time.Now().Add(-time.Hour))
	for name, q := range map[string]string{
		"list_status": "status=succeeded,failed&limit=50",
		"list_label":  "label=batch%3D7&limit=50",
		"list_time":   "created_after=" + since + "&limit=50",
		"list_page":   "limit=50",
	} {
		var ds []time.Duration
		for range *lists {
			t := time.Now()
			serve.Get(base + "/v1/jobs?" + q)
			ds = append(ds, time.Since(t))
		}
		slices.Sort(ds)
		res[name+"_p50_ms"] = float64(ds[len(ds)/2].Microseconds()) / 1000
		res[name+"_p99_ms"] = float64(ds[len(ds)*99/100].Microseconds()) / 1000
	}
	s.Stop()
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func url(t time.Time) string { return strings.ReplaceAll(t.UTC().Format(time.RFC3339), ":", "%3A") }

// submit runs n is_prime jobs in batches of 1,000, each labelled
// batch=<k mod 10>.
func submit(base string, n int) {
	serve.Batch(base, n, func(i int) string {
		return fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d},"labels":{"batch":"%d"}}`, 1000+i, (i/1000)%10)
	})
}

// waitCounted waits until /v1/stats counts n finished jobs.
func waitCounted(base string, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var st struct {
			Algorithms []struct {
				Counts map[string]int `json:"counts"`
			} `json:"algorithms"`
		}
		if json.Unmarshal(serve.Get(base+"/v1/stats"), &st) == nil {
			total := 0
			for _, a := range st.Algorithms {
				total += a.Counts["succeeded"] + a.Counts["failed"] + a.Counts["canceled"]
			}
			if total >= n {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("stats did not count %d finished jobs within %s", n, limit)
}

// waitArchived waits until the server has no finished job left to
// archive (a build without archiving has no such metric: no wait).
func waitArchived(base string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		body := string(serve.Get(base + "/metrics"))
		i := strings.Index(body, "\nconveyor_jobs_to_archive ")
		if i < 0 {
			return
		}
		if strings.HasPrefix(body[i+len("\nconveyor_jobs_to_archive "):], "0\n") {
			time.Sleep(6 * time.Second) // the markers of the last purges expire
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	log.Fatalf("finished jobs still to archive after %s", limit)
}
