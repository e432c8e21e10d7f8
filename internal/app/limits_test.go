package app

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestLimits: each limit on what a client controls answers a clear 4xx
// problem naming the limit.
func TestLimits(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	labels := map[string]any{}
	for i := range 33 {
		labels[string(rune('a'+i%26))+strings.Repeat("x", i)] = "v"
	}
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		detail     string
	}{
		{"deep input", "/v1/jobs", `{"algorithm":"is_prime","input":` + deep + `}`, 400, "nests deeper than 64"},
		{"deep body alone", "/v1/algorithms/is_prime/jobs", deep, 400, "nests deeper than 64"},
		{"deep sync call", "/v1/algorithms/is_prime/run", deep, 400, "nests deeper than 64"},
		{"deep inside a string is fine", "/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"labels":{"s":"` + strings.Repeat("[", 200) + `"}}`, 202, ""},
		{"too many labels", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "labels": labels}, 400, "at most 32 labels"},
		{"long label value", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "labels": map[string]any{"k": strings.Repeat("v", 257)}}, 400, "label keys must be"},
		{"long idempotency key", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "idempotency_key": strings.Repeat("k", 257)}, 400, "idempotency_key is longer than 256"},
		{"too many attempts", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "max_attempts": 101}, 400, "max_attempts must be between 1 and 100"},
		{"body over max_body", "/v1/jobs", `{"algorithm":"is_prime","input":{"pad":"` + strings.Repeat("x", 11<<20) + `"}}`, 413, "over the limit"},
	} {
		resp := s.do("POST", tc.path, tc.body, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, readAll(t, resp))
			continue
		}
		if tc.detail != "" {
			if p := problem(t, resp); !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: detail %q, want it to say %q", tc.name, p.Detail, tc.detail)
			}
		}
	}

	// Headers over MaxHeaderBytes: 431 from the HTTP server itself.
	req, _ := http.NewRequest("GET", s.base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("h", MaxHeaderBytes+8<<10))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: status %d, want 431", resp.StatusCode)
	}
}

// TestWaitClamped: a ?wait= longer than http.max_wait is clamped: the
// long poll of a job that does not finish ends after max_wait with the
// job as it is.
func TestWaitClamped(t *testing.T) {
	const maxWait = 300 * time.Millisecond
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.MaxWait = conveyor.Duration(maxWait)
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "spawn"}, "", 202)
	defer s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil)

	// The long poll runs in its own goroutine so that an unclamped one
	// fails the test instead of hanging it; cleanup cancels its request
	// and waits for it, before the server stops.
	type answer struct {
		status int
		job    conveyor.Job
		err    error
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan answer, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/jobs/"+j.ID+"?wait=1h", nil)
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		a.err = jsonDecode(resp, &a.job)
		done <- a
	}()
	select {
	case a := <-done:
		elapsed := time.Since(start)
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.status != 200 {
			t.Fatalf("status %d", a.status)
		}
		if elapsed < maxWait {
			t.Errorf("?wait=1h answered after %v, before max_wait (%v): the wait was not kept", elapsed, maxWait)
		}
		if a.job.ID != j.ID || a.job.Status.Terminal() {
			t.Errorf("?wait=1h answered job %s %s, want %s as it is, not final", a.job.ID, a.job.Status, j.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("?wait=1h was not clamped to max_wait")
	}
}

// TestEventStreamsPerClient: past http.max_event_streams open streams a
// client gets 429; closing one frees its slot.
func TestEventStreamsPerClient(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.MaxEventStreams = 2
	s := startServer(t, cfg)
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			// The stream is open once its first line arrives.
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		return resp, cancel
	}
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for range 2 {
		resp, cancel := open()
		cancels = append(cancels, cancel)
		if resp.StatusCode != 200 {
			t.Fatalf("stream within the limit: status %d", resp.StatusCode)
		}
	}
	resp, cancel := open()
	cancel()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Following a job's log is a stream too.
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}}, "", http.StatusAccepted)
	defer s.do("POST", "/v1/jobs/"+j.ID+"/cancel", nil, nil)
	if resp := s.do("GET", "/v1/jobs/"+j.ID+"/logs?follow=true", nil, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a log follow past the limit: status %d, want 429", resp.StatusCode)
	}
	if p := problem(t, resp); p.Code != conveyor.ETOOMANY {
		t.Fatalf("problem %+v", p)
	}
	cancels[0]()
	testenv.Eventually(t, "a slot freed by a closed stream", func() bool {
		resp, cancel := open()
		cancels = append(cancels, cancel)
		return resp.StatusCode == 200
	})
}

// TestSlowBody: a client that takes longer than http.body_timeout to send
// its body gets 408; the deadline covers the body only, so a submit's
// long poll that follows runs for as long as it asks.
func TestSlowBody(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.BodyTimeout = conveyor.Duration(300 * time.Millisecond)
	s := startServer(t, cfg)

	conn, err := net.Dial("tcp", s.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"algorithm\""); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body: status %d, want 408", resp.StatusCode)
	}
	if p := problem(t, resp); p.Code != conveyor.ESLOW {
		t.Fatalf("problem %+v", p)
	}

	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 1}}, "?wait=20s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded {
		t.Fatalf("a submit waiting past body_timeout: %s", j.Status)
	}
}

// TestOversizedBodyExpectContinue: a body whose Content-Length is over
// http.max_body, sent with "Expect: 100-continue" as curl does for large
// bodies, gets its 413 at once, every time, without a 100 Continue first
// (which would make the client send megabytes the gateway then refuses).
func TestOversizedBodyExpectContinue(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, path := range []string{"/v1/jobs", "/v1/algorithms/is_prime/jobs", "/v1/algorithms/is_prime/run"} {
		for i := range 20 {
			conn, err := net.Dial("tcp", s.app.Addr())
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			head := "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
				"Content-Length: 25165824\r\nExpect: 100-continue\r\n\r\n"
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s try %d: no answer: %v", path, i, err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s try %d: first answer %d %s, want 413 before any body is sent", path, i, resp.StatusCode, resp.Status)
			}
			if p := problem(t, resp); p.Code != conveyor.ETOOLARGE {
				t.Fatalf("%s try %d: problem %+v", path, i, p)
			}
			conn.Close()
		}
	}
}
