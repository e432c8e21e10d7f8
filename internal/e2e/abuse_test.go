package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestAbuse sends thousands of malformed, oversized, deeply nested,
// wrong-typed and wrong-auth requests mixed with valid ones to `conveyor
// serve` with auth: every bad one gets its 4xx, every valid one is
// accepted and its job succeeds, and the server's resident memory stays
// within a bound.
func TestAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("sends thousands of requests")
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfgPath := filepath.Join(dir, "conveyor.yaml")
	cfg := `
http: {max_body: 1MiB, body_timeout: 500ms}
algorithms:
  - {kind: go, workers: {max: 4}}
auth:
  tokens:
    - {name: client, token_env: ABUSE_TOKEN, scopes: [submit, read]}
    - {name: reader, token_env: ABUSE_READER, scopes: [read]}
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, []string{"serve", "--config", cfgPath},
		[]string{"CONVEYOR_HTTP_ADDR=" + addr, "CONVEYOR_DATA_DIR=" + filepath.Join(dir, "data"), "ABUSE_TOKEN=good-token", "ABUSE_READER=reader-token"}, "", addr)
	pid := p.cmd.Process.Pid

	type request struct {
		name, method, path, token, body string
		header                          string // a header of this many bytes, when not ""
		want                            int
	}
	const good = "good-token"
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	bad := []request{
		{name: "malformed", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":`, want: 400},
		{name: "not an object", method: "POST", path: "/v1/jobs", token: good, body: `[1,2,3]`, want: 400},
		{name: "empty", method: "POST", path: "/v1/jobs", token: good, body: ``, want: 400},
		{name: "trailing data", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7}} x`, want: 400},
		{name: "wrong type of input field", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":"seven"}}`, want: 400},
		{name: "wrong type of algorithm", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":5}`, want: 400},
		{name: "wrong type of max_attempts", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"max_attempts":"x"}`, want: 400},
		{name: "wrong type of labels", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"labels":{"a":1}}`, want: 400},
		{name: "unknown field", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"colour":"red"}`, want: 400},
		{name: "bad priority", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"priority":"urgent"}`, want: 400},
		{name: "long idempotency key", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"idempotency_key":"` + strings.Repeat("k", 300) + `"}`, want: 400},
		{name: "callback not allowed", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"n":7},"callback_url":"http://169.254.169.254/"}`, want: 400},
		{name: "nested 100", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":` + deep(100) + `}`, want: 400},
		{name: "nested 200000", method: "POST", path: "/v1/algorithms/is_prime/jobs", token: good, body: deep(200000), want: 400},
		{name: "nested sync call", method: "POST", path: "/v1/algorithms/is_prime/run", token: good, body: deep(5000), want: 400},
		{name: "oversized", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"is_prime","input":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`, want: 413},
		{name: "unknown algorithm", method: "POST", path: "/v1/jobs", token: good, body: `{"algorithm":"nope","input":{}}`, want: 404},
		{name: "list with an unknown parameter", method: "GET", path: "/v1/jobs?wait=forever", token: good, want: 400},
		{name: "bad wait on a job", method: "GET", path: "/v1/jobs/01ABC?wait=forever", token: good, want: 400},
		{name: "no such job", method: "GET", path: "/v1/jobs/01ABC", token: good, want: 404},
		{name: "junk job id", method: "GET", path: "/v1/jobs/%2e%2e%2f%00", token: good, want: 404},
		{name: "cancel without the scope", method: "POST", path: "/v1/jobs/01ABC/cancel", token: good, want: 403},
		{name: "no token", method: "POST", path: "/v1/jobs", body: `{"algorithm":"is_prime","input":{"n":7}}`, want: 401},
		{name: "wrong token", method: "POST", path: "/v1/jobs", token: "guess", body: `{"algorithm":"is_prime","input":{"n":7}}`, want: 401},
		{name: "read-only token submits", method: "POST", path: "/v1/jobs", token: "reader-token", body: `{"algorithm":"is_prime","input":{"n":7}}`, want: 403},
		{name: "huge header", method: "GET", path: "/v1/jobs", token: good, header: strings.Repeat("h", 100<<10), want: 431},
		{name: "no such endpoint", method: "DELETE", path: "/v1/jobs", token: good, want: 404},
	}
	send := func(r request) (int, string, error) {
		req, err := http.NewRequest(r.method, p.base+r.path, strings.NewReader(r.body))
		if err != nil {
			return 0, "", err
		}
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if r.header != "" {
			req.Header.Set("X-Big", r.header)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(data), err
	}

	const total, workers = 6000, 8
	var (
		next     atomic.Int64
		mu       sync.Mutex
		valid    []string
		badCount = map[string]int{}
		peakRSS  atomic.Int64
		wg       sync.WaitGroup
	)
	rss0 := rss(t, pid)
	// Slow senders: bodies that never finish arriving, held open during
	// the storm; each must get 408, not a connection held for ever.
	var stalled []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := io.WriteString(c, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good-token\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"alg"); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
	}
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > total || t.Failed() {
					return
				}
				if i%100 == 0 {
					peakRSS.Store(max(peakRSS.Load(), rss(t, pid)))
				}
				if i%4 == 0 { // a quarter are valid submits
					code, body, err := send(request{method: "POST", path: "/v1/jobs", token: good, body: fmt.Sprintf(`{"algorithm":"is_prime","input":{"n":%d}}`, i)})
					if err != nil || code != 202 {
						t.Errorf("valid submit %d: %d %v %s", i, code, err, body)
						return
					}
					id := body[strings.Index(body, `"id":"`)+6:]
					mu.Lock()
					valid = append(valid, id[:strings.IndexByte(id, '"')])
					mu.Unlock()
					continue
				}
				r := bad[i%len(bad)]
				code, body, err := send(r)
				if err != nil || code != r.want {
					t.Errorf("%s: %d %v, want %d: %.200s", r.name, code, err, r.want, body)
					return
				}
				mu.Lock()
				badCount[r.name]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rss1 := rss(t, pid)
	for i, c := range stalled {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow sender %d: %v %v, want 408", i, resp, err)
		}
		resp.Body.Close()
	}
	for _, id := range valid {
		var j conveyor.Job
		for j.Status == "" || !j.Status.Terminal() {
			req, _ := http.NewRequest("GET", p.base+"/v1/jobs/"+id+"?wait=10s", nil)
			req.Header.Set("Authorization", "Bearer "+good)
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&j)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("job %s: %d %v", id, resp.StatusCode, err)
			}
		}
		if j.Status != conveyor.StatusSucceeded {
			t.Fatalf("valid job %s: %s %+v", id, j.Status, j.Error)
		}
	}
	n := 0
	for _, c := range badCount {
		n += c
	}
	t.Logf("%d requests: %d valid jobs all succeeded, %d bad ones of %d kinds and %d slow senders all refused as they should; serve RSS %d MiB before, peak %d MiB, %d MiB after",
		total, len(valid), n, len(badCount), len(stalled), rss0>>20, peakRSS.Load()>>20, rss1>>20)
	if limit := rss0 + 192<<20; peakRSS.Load() > limit || rss1 > limit {
		t.Fatalf("serve's memory grew from %d MiB to a peak of %d MiB (bound %d MiB)", rss0>>20, peakRSS.Load()>>20, limit>>20)
	}
}

// rss returns the resident set size of process pid, in bytes.
func rss(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Error(err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
