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
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	addr := freeAddr()
	base := "http://" + addr

	s := start(*bin, data, addr)
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
	s.stop()
	time.Sleep(*settle)

	began := time.Now()
	s = start(*bin, data, addr)
	ready := time.Since(began)
	waitCounted(base, *jobs, 5*time.Minute)
	caughtUp := time.Since(began)
	time.Sleep(3 * time.Second) // let the start-up's garbage go
	rss, hwm := s.memory()
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
			get(base + "/v1/jobs?" + q)
			ds = append(ds, time.Since(t))
		}
		slices.Sort(ds)
		res[name+"_p50_ms"] = float64(ds[len(ds)/2].Microseconds()) / 1000
		res[name+"_p99_ms"] = float64(ds[len(ds)*99/100].Microseconds()) / 1000
	}
	s.stop()
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func url(t time.Time) string { return strings.ReplaceAll(t.UTC().Format(time.RFC3339), ":", "%3A") }

type server struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func start(bin, data, addr string) *server {
	s := &server{logs: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = append(os.Environ(), "CONVEYOR_DATA_DIR="+data, "CONVEYOR_HTTP_ADDR="+addr)
	s.cmd.Dir = filepath.Dir(data)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	log.Fatalf("serve not ready after 5 minutes:\n%s", s.logs)
	return nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// memory returns the server's VmRSS and VmHWM in KiB.
func (s *server) memory() (rss, hwm int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	return rss, hwm
}

// submit runs n is_prime jobs in batches of 1,000, each labelled
// batch=<k mod 10>.
func submit(base string, n int) {
	for done := 0; done < n; {
		k := min(1000, n-done)
		var b strings.Builder
		b.WriteString(`{"jobs":[`)
		for i := range k {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"algorithm":"is_prime","input":{"n":%d},"labels":{"batch":"%d"}}`, 1000+done+i, (done/1000)%10)
		}
		b.WriteString(`]}`)
		for {
			resp, err := http.Post(base+"/v1/jobs/batch", "application/json", strings.NewReader(b.String()))
			if err != nil {
				log.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 202 {
				break
			}
			if resp.StatusCode != 429 && resp.StatusCode != 503 {
				log.Fatalf("batch: %d %s", resp.StatusCode, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		done += k
	}
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
		if json.Unmarshal(get(base+"/v1/stats"), &st) == nil {
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
		body := string(get(base + "/metrics"))
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

func get(u string) []byte {
	resp, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return data
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
