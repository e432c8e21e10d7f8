// Command load measures Conveyor end to end over HTTP, on the workloads the
// peers in ../shared/peers run, and prints one summary line.
//
//	go run ./bench/load -server http://127.0.0.1:8080 -jobs 10000 -clients 32
//
// Modes (-modes, comma-separated):
//
//	e2e      -clients goroutines submit -jobs is_prime jobs (n = -n) with
//	         POST /v1/algorithms/is_prime/jobs while the runner works; then
//	         every job is awaited. e2e_jobs_per_s = jobs / (first submit ..
//	         last finished_at); submit_per_s = jobs / submit phase.
//	e2e-lean the same as e2e, each client submitting through a minimal
//	         HTTP/1.1 client (see lean.go), as wrk is to bench/sync.sh:
//	         e2e_lean_jobs_per_s.
//	e2e-batch the same jobs, submitted -batch at a time with
//	         POST /v1/jobs/batch, then awaited: e2e_batch_jobs_per_s.
//	e2e-wait the same jobs, each submitted with ?wait= so that one request
//	         returns the finished job: e2e_wait_jobs_per_s = jobs / wall time.
//	latency  idle server, one job at a time: submit-to-start is the job's
//	         started_at - created_at (server clock), round trip is one
//	         submit with ?wait= from the client.
//
// It talks only to the server it is given (loopback), and its request
// loops are bounded by -jobs and -latn.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-run/conveyor"
)

var (
	fServer  = flag.String("server", "http://127.0.0.1:8080", "Conveyor base URL; several, comma-separated, are used in turn (gateways of one cluster)")
	fJobs    = flag.Int("jobs", 10000, "jobs in e2e mode")
	fClients = flag.Int("clients", 32, "concurrent HTTP clients")
	fN       = flag.Int64("n", 7, "is_prime input")
	fLatN    = flag.Int("latn", 200, "jobs in latency mode")
	fModes   = flag.String("modes", "e2e,e2e-wait,latency", "modes to run")
	fBatch   = flag.Int("batch", 100, "jobs per request in e2e-batch mode")
	fAlg     = flag.String("algorithm", "is_prime", "algorithm of the jobs in e2e, e2e-wait and latency modes; its input is {\"n\": N}")
	fRate    = flag.Float64("rate", 0, "in e2e modes, submit at this many jobs/s in all (0: as fast as the clients go)")
)

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 2 * time.Minute}

func main() {
	flag.Parse()
	servers = strings.Split(*fServer, ",")
	summary := []string{"system=conveyor", "workload=W2"}
	for _, mode := range strings.Split(*fModes, ",") {
		switch mode {
		case "e2e":
			summary = append(summary, e2e()...)
		case "e2e-lean":
			summary = append(summary, e2eLean()...)
		case "e2e-batch":
			summary = append(summary, e2eBatch()...)
		case "e2e-wait":
			summary = append(summary, e2eWait()...)
		case "latency":
			summary = append(summary, latency()...)
		default:
			fail("unknown mode %q", mode)
		}
	}
	fmt.Println(strings.Join(summary, " "))
}

func e2e() []string {
	body := []byte(fmt.Sprintf(`{"n":%d}`, *fN))
	ids, t0, submitted, errs := submitAll(1, func(ids []string, i, _ int) error {
		var j job
		if err := call("POST", "/v1/algorithms/"+*fAlg+"/jobs", body, http.StatusAccepted, &j); err != nil {
			return err
		}
		ids[i] = j.ID
		return nil
	})
	return append([]string{fmt.Sprintf("jobs=%d", *fJobs), fmt.Sprintf("clients=%d", *fClients)},
		awaitAll("e2e", ids, t0, submitted, errs)...)
}

// e2eLean is e2e with each submit sent by a lean client: one connection
// per client, each to the servers in turn.
func e2eLean() []string {
	body := []byte(fmt.Sprintf(`{"n":%d}`, *fN))
	conns := make(chan *leanConn, *fClients)
	for i := range *fClients {
		c, err := dialLean(servers[i%len(servers)])
		if err != nil {
			fail("e2e-lean: %v", err)
		}
		conns <- c
	}
	defer func() {
		for range *fClients {
			(<-conns).close()
		}
	}()
	ids, t0, submitted, errs := submitAll(1, func(ids []string, i, _ int) error {
		c := <-conns
		code, data, err := c.do("POST", "/v1/algorithms/"+*fAlg+"/jobs", body)
		if err != nil {
			// The connection is out of step with its answers: a new one.
			c.close()
			fresh, derr := dialLean(c.base)
			if derr != nil {
				fail("e2e-lean: %v", derr)
			}
			conns <- fresh
			return err
		}
		conns <- c
		if code != http.StatusAccepted {
			return fmt.Errorf("submit: %d %s", code, data)
		}
		var j job
		if err := json.Unmarshal(data, &j); err != nil {
			return err
		}
		ids[i] = j.ID
		return nil
	})
	return awaitAll("e2e-lean", ids, t0, submitted, errs)
}

// e2eBatch is e2e with the jobs submitted -batch at a time.
func e2eBatch() []string {
	batch := max(*fBatch, 1)
	one := fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d}}`, *fN)
	body := func(n int) []byte {
		return []byte(`{"jobs":[` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + `]}`)
	}
	full := body(batch)
	ids, t0, submitted, errs := submitAll(batch, func(ids []string, i, n int) error {
		data := full
		if n < batch { // the last, shorter batch
			data = body(n)
		}
		var list struct {
			Jobs []job `json:"jobs"`
		}
		if err := call("POST", "/v1/jobs/batch", data, http.StatusAccepted, &list); err != nil {
			return err
		}
		for k, j := range list.Jobs {
			ids[i+k] = j.ID
		}
		return nil
	})
	return append([]string{fmt.Sprintf("batch=%d", batch)}, awaitAll("e2e-batch", ids, t0, submitted, errs)...)
}

// submitAll has -clients goroutines submit -jobs jobs, step at a time:
// submit(ids, i, n) submits jobs i to i+n-1 and sets their ids in ids. It
// returns when all are in: the ids, when they began, how long they took
// and how many submits failed.
func submitAll(step int, submit func(ids []string, i, n int) error) (ids []string, t0 time.Time, took time.Duration, errs int64) {
	ids = make([]string, *fJobs)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	t0 = time.Now()
	for range *fClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(int64(step))) - step
				if i >= *fJobs {
					return
				}
				if *fRate > 0 { // job i is due at i/rate after t0
					time.Sleep(time.Until(t0.Add(time.Duration(float64(i) / *fRate * float64(time.Second)))))
				}
				if err := submit(ids, i, min(step, *fJobs-i)); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "# submit:", err)
				}
			}
		}()
	}
	wg.Wait()
	return ids, t0, time.Since(t0), failed.Load()
}

// awaitAll long-polls every job of ids, and reports the e2e rate of a run
// of mode that began at t0 and submitted for submitted, as key=value pairs
// named after mode (e2e-lean: e2e_lean_jobs_per_s, …).
func awaitAll(mode string, ids []string, t0 time.Time, submitted time.Duration, submitErrs int64) []string {
	var next, last, failed atomic.Int64
	var wg sync.WaitGroup
	lat := make([]time.Duration, len(ids)) // created → finished, server clock
	for range *fClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				if ids[i] == "" {
					continue
				}
				j := await(ids[i])
				if j == nil || j.Status != conveyor.StatusSucceeded {
					failed.Add(1)
					continue
				}
				lat[i] = j.FinishedAt.Sub(j.CreatedAt)
				for {
					cur := last.Load()
					if j.FinishedAt.UnixNano() <= cur || last.CompareAndSwap(cur, j.FinishedAt.UnixNano()) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	total := time.Unix(0, last.Load()).Sub(t0)
	ok := submitErrs == 0 && failed.Load() == 0
	fmt.Fprintf(os.Stderr, "# %s jobs=%d clients=%d submit=%s total=%s submit_errors=%d not_succeeded=%d\n",
		mode, *fJobs, *fClients, submitted.Round(time.Millisecond), total.Round(time.Millisecond), submitErrs, failed.Load())
	key := strings.ReplaceAll(mode, "-", "_")
	return []string{
		fmt.Sprintf("%s_jobs_per_s=%.0f", key, float64(*fJobs)/total.Seconds()),
		fmt.Sprintf("%s_submit_per_s=%.0f", key, float64(*fJobs)/submitted.Seconds()),
		fmt.Sprintf("%s_latency_p50_ms=%s", key, ms(pct(lat, 50))),
		fmt.Sprintf("%s_latency_p99_ms=%s", key, ms(pct(lat, 99))),
		fmt.Sprintf("%s_all_succeeded=%v", key, ok),
	}
}

// e2eWait has each client submit with ?wait= and take the finished job
// from the same response: one HTTP request per job.
func e2eWait() []string {
	body := []byte(fmt.Sprintf(`{"n":%d}`, *fN))
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range *fClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*fJobs) {
				var j job
				err := call("POST", "/v1/algorithms/"+*fAlg+"/jobs?wait=60s", body, http.StatusOK, &j)
				if err != nil || j.Status != conveyor.StatusSucceeded {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	total := time.Since(t0)
	fmt.Fprintf(os.Stderr, "# e2e-wait jobs=%d clients=%d total=%s not_succeeded=%d\n", *fJobs, *fClients, total.Round(time.Millisecond), bad.Load())
	return []string{
		fmt.Sprintf("e2e_wait_jobs_per_s=%.0f", float64(*fJobs)/total.Seconds()),
		fmt.Sprintf("e2e_wait_all_succeeded=%v", bad.Load() == 0),
	}
}

func latency() []string {
	body := []byte(fmt.Sprintf(`{"n":%d}`, *fN))
	var startLat, roundTrip []time.Duration
	for range *fLatN {
		var j job
		t0 := time.Now()
		if err := call("POST", "/v1/algorithms/"+*fAlg+"/jobs?wait=10s", body, http.StatusOK, &j); err != nil {
			fail("latency submit: %v", err)
		}
		roundTrip = append(roundTrip, time.Since(t0))
		if j.StartedAt == nil {
			fail("job %s has no started_at", j.ID)
		}
		startLat = append(startLat, j.StartedAt.Sub(j.CreatedAt))
	}
	return []string{
		"submit_to_start_p50_ms=" + ms(pct(startLat, 50)),
		"submit_to_start_p99_ms=" + ms(pct(startLat, 99)),
		"wait_roundtrip_p50_ms=" + ms(pct(roundTrip, 50)),
		"wait_roundtrip_p99_ms=" + ms(pct(roundTrip, 99)),
	}
}

// await long-polls a job until it is final.
func await(id string) *job {
	for range 60 {
		var j job
		if err := call("GET", "/v1/jobs/"+id+"?wait=30s", nil, http.StatusOK, &j); err != nil {
			fmt.Fprintln(os.Stderr, "# await:", err)
			return nil
		}
		if j.Status.Terminal() {
			return &j
		}
	}
	return nil
}

// job is the part of a job the load tool reads: a client that submits
// many jobs reads little of each answer, and this tool shares the
// machine's cores with the server it measures.
type job struct {
	ID         string          `json:"id"`
	Status     conveyor.Status `json:"status"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
}

// turn picks the server of the next request.
var turn atomic.Uint64

// servers are the base URLs of -server.
var servers []string

func call(method, path string, body []byte, want int, out any) error {
	server := servers[turn.Add(1)%uint64(len(servers))]
	req, err := http.NewRequestWithContext(context.Background(), method, server+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}
