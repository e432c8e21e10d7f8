// Command sse measures what Server-Sent Event streams cost a gateway: it
// submits one long sleep job, opens -streams concurrent streams of its
// events, holds them for -hold while the job reports progress, and prints
// the server's resident memory and CPU (from /metrics) before and with the
// streams open.
//
//	go run ./bench/sse -server http://127.0.0.1:8080 -streams 1000
//
// The server must allow that many streams from one client:
// http.max_event_streams (default 64) above -streams.
//
// It talks only to the server it is given (loopback), and closes every
// stream before it exits.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	fServer  = flag.String("server", "http://127.0.0.1:8080", "Conveyor base URL")
	fStreams = flag.Int("streams", 1000, "concurrent event streams")
	fHold    = flag.Duration("hold", 10*time.Second, "how long to hold them open")
)

func main() {
	flag.Parse()
	resp, err := http.Post(*fServer+"/v1/algorithms/sleep/jobs", "application/json", strings.NewReader(fmt.Sprintf(`{"seconds": %g}`, (*fHold+30*time.Second).Seconds())))
	if err != nil {
		fail(err)
	}
	var job struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	defer cancelJob(job.ID)

	rss0, cpu0 := sample()
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *fStreams, MaxConnsPerHost: 0}}
	var up, events atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range *fStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", *fServer+"/v1/jobs/"+job.ID+"/events", nil)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			first := true
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "event: ") {
					events.Add(1)
					if first {
						first = false
						up.Add(1)
					}
				}
			}
		}()
	}
	for up.Load() < int64(*fStreams) && time.Since(t0) < 60*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	connected := time.Since(t0)
	_, cpu1 := sample()
	time.Sleep(*fHold)
	rss2, cpu2 := sample()
	got := events.Load()
	cancel()
	wg.Wait()
	fmt.Printf("streams=%d connected=%d connect_s=%.2f hold_s=%.0f events=%d rss_before_mib=%.1f rss_with_streams_mib=%.1f kib_per_stream=%.1f cpu_while_held=%.1f%%\n",
		*fStreams, up.Load(), connected.Seconds(), fHold.Seconds(), got, rss0/(1<<20), rss2/(1<<20),
		(rss2-rss0)/1024/float64(*fStreams), 100*(cpu2-cpu1)/fHold.Seconds())
	_ = cpu0
}

// sample reads the server's resident memory (bytes) and CPU (seconds).
func sample() (rss, cpu float64) {
	resp, err := http.Get(*fServer + "/metrics")
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "process_resident_memory_bytes":
			rss = v
		case "process_cpu_seconds_total":
			cpu = v
		}
	}
	return rss, cpu
}

func cancelJob(id string) {
	resp, err := http.Post(*fServer+"/v1/jobs/"+id+"/cancel", "application/json", nil)
	if err == nil {
		resp.Body.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sse:", err)
	os.Exit(1)
}
