// Package serve runs `conveyor serve` for the bench tools: started on a
// data dir and a loopback address, measured from /proc, stopped by
// SIGTERM (SIGKILL after a minute), with the few HTTP helpers they share.
package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running `conveyor serve`.
type Server struct {
	// Base is its API's base URL.
	Base string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// Start starts bin serve with its data in data, its API on addr, and
// waits up to ready for /readyz; it exits the program if serve is not up
// by then. args are added to serve's command line (e.g. --pprof).
func Start(bin, data, addr string, ready time.Duration, args ...string) *Server {
	s := &Server{Base: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	s.cmd.Env = append(os.Environ(), "CONVEYOR_DATA_DIR="+data, "CONVEYOR_HTTP_ADDR="+addr)
	s.cmd.Dir = filepath.Dir(data)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	deadline := time.Now().Add(ready)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.Base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	log.Fatalf("serve not ready after %s:\n%s", ready, s.logs)
	return nil
}

// Stop stops the server: SIGTERM, then SIGKILL after a minute.
func (s *Server) Stop() {
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

// Memory returns the server's VmRSS and VmHWM in KiB.
func (s *Server) Memory() (rss, hwm int) {
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

// Get returns the body of GET u; it exits the program if the request fails.
func Get(u string) []byte {
	resp, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return data
}

// Job is what the bench tools read of a job.
type Job struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  json.RawMessage `json:"error"`
}

// Run submits body (a submit request's JSON) to base's /v1/jobs and waits
// until the job is final; it exits the program if the submit is refused.
func Run(base string, body io.Reader) Job {
	resp, err := http.Post(base+"/v1/jobs?wait=60s", "application/json", body)
	if err != nil {
		log.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var j Job
	if err := json.Unmarshal(data, &j); err != nil || j.ID == "" {
		log.Fatalf("submit: %d %.300s", resp.StatusCode, data)
	}
	for j.Status != "succeeded" && j.Status != "failed" && j.Status != "canceled" {
		data = Get(base + "/v1/jobs/" + j.ID + "?wait=30s")
		if err := json.Unmarshal(data, &j); err != nil {
			log.Fatalf("wait: %.300s", data)
		}
	}
	return j
}

// Batch posts the jobs job(0) … job(n-1) (each a submit request's JSON)
// to base's /v1/jobs/batch, 1,000 a request, retrying a 429 or 503, and
// returns their ids in order; it exits the program on any other refusal.
func Batch(base string, n int, job func(i int) string) []string {
	var ids []string
	for done := 0; done < n; {
		k := min(1000, n-done)
		var b strings.Builder
		b.WriteString(`{"jobs":[`)
		for i := range k {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(job(done + i))
		}
		b.WriteString(`]}`)
		for {
			resp, err := http.Post(base+"/v1/jobs/batch", "application/json", strings.NewReader(b.String()))
			if err != nil {
				log.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 || resp.StatusCode == 503 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if resp.StatusCode != 202 {
				log.Fatalf("batch: %d %s", resp.StatusCode, body)
			}
			var list struct {
				Jobs []struct {
					ID string `json:"id"`
				} `json:"jobs"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				log.Fatal(err)
			}
			for _, j := range list.Jobs {
				ids = append(ids, j.ID)
			}
			break
		}
		done += k
	}
	return ids
}

// FreeAddr returns a loopback address free now.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
