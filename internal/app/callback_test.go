package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// receiver is a callback endpoint on 127.0.0.1 that fails its first
// failFirst requests with 500 and records every request.
type receiver struct {
	srv       *httptest.Server
	failFirst int

	mu  sync.Mutex
	got []delivery
}

type delivery struct {
	body      []byte
	signature string
	status    int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusNoContent
		if len(r.got) < r.failFirst {
			status = http.StatusInternalServerError
		}
		r.got = append(r.got, delivery{body, req.Header.Get("X-Conveyor-Signature"), status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// requestsFor returns how many requests the receiver got for job id.
func (r *receiver) requestsFor(t *testing.T, id string) int {
	t.Helper()
	n := 0
	for _, d := range r.deliveries() {
		var j conveyor.Job
		if err := json.Unmarshal(d.body, &j); err != nil {
			t.Fatalf("a request's body %s: %v", d.body, err)
		}
		if j.ID == id {
			n++
		}
	}
	return n
}

// callbackConfig is testConfig with callbacks to the hosts allow, signed
// with the secret "callback-secret", retried every 50 ms at first.
func callbackConfig(t *testing.T, allow ...string) config.Config {
	t.Setenv("TEST_CALLBACK_SECRET", "callback-secret")
	cfg := testConfig(t, t.TempDir())
	cfg.Callbacks.AllowHosts = allow
	cfg.Callbacks.SecretEnv = "TEST_CALLBACK_SECRET"
	cfg.Callbacks.Backoff = conveyor.Duration(50 * time.Millisecond)
	return cfg
}

func callbackServer(t *testing.T, allow ...string) *server {
	return startServer(t, callbackConfig(t, allow...))
}

// TestCallback: a final job is POSTed to its callback_url, signed with the
// HMAC-SHA256 of the exact body; a receiver that fails twice gets the job
// on the third attempt, and the job shows the attempts.
func TestCallback(t *testing.T) {
	ok, flaky := newReceiver(t, 0), newReceiver(t, 2)
	s := callbackServer(t, strings.TrimPrefix(ok.srv.URL, "http://"), strings.TrimPrefix(flaky.srv.URL, "http://"))

	for _, tc := range []struct {
		name     string
		r        *receiver
		attempts int
	}{{"succeeds at once", ok, 1}, {"fails twice", flaky, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": tc.r.srv.URL + "/hook?x=1"}, "", 202)
			if j.Callback == nil || j.Callback.URL != tc.r.srv.URL+"/hook?x=1" {
				t.Fatalf("submitted job's callback: %+v", j.Callback)
			}
			var final conveyor.Job
			testenv.Eventually(t, "the callback delivered", func() bool {
				s.do("GET", "/v1/jobs/"+j.ID, nil, &final)
				return final.Callback != nil && final.Callback.DeliveredAt != nil
			})
			got := tc.r.deliveries()
			if len(got) != tc.attempts || final.Callback.Attempts != tc.attempts || final.Callback.LastStatus != 204 {
				t.Fatalf("%d deliveries, job's callback %+v; want %d attempts ending in 204", len(got), final.Callback, tc.attempts)
			}
			for i, d := range got {
				mac := hmac.New(sha256.New, []byte("callback-secret"))
				mac.Write(d.body)
				if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); d.signature != want {
					t.Errorf("delivery %d: signature %q, want %q", i, d.signature, want)
				}
				var sent conveyor.Job
				if err := json.Unmarshal(d.body, &sent); err != nil || sent.ID != j.ID || sent.Status != conveyor.StatusSucceeded || !strings.Contains(string(sent.Output), `"prime":true`) {
					t.Errorf("delivery %d: body %s (%v)", i, d.body, err)
				}
			}
		})
	}
	resp := s.do("GET", "/metrics", nil, nil)
	body := readAll(t, resp)
	for _, want := range []string{`conveyor_callback_attempts_total{result="delivered"} 2`, `conveyor_callback_attempts_total{result="failed"} 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCallbackRefused: without the host in callbacks.allow_hosts (and
// with no callbacks configured at all) a callback_url is a 400, and
// nothing is stored; a URL with credentials or another scheme is too.
func TestCallbackRefused(t *testing.T) {
	r := newReceiver(t, 0)
	host := strings.TrimPrefix(r.srv.URL, "http://")
	open := startServer(t, testConfig(t, t.TempDir()))
	s := callbackServer(t, host)
	for _, tc := range []struct {
		s   *server
		url string
	}{
		{open, r.srv.URL},
		{s, "http://169.254.169.254/latest/meta-data"},
		{s, "http://127.0.0.1:1/"},
		{s, "http://localhost" + host[strings.LastIndex(host, ":"):]},
		{s, "ftp://" + host + "/"},
		{s, "http://user:pw@" + host + "/"},
		{s, "/relative"},
	} {
		resp := tc.s.do("POST", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": tc.url}, nil)
		if resp.StatusCode != 400 {
			t.Errorf("callback_url %q: status %d, want 400", tc.url, resp.StatusCode)
			continue
		}
		if p := problem(t, resp); !strings.Contains(p.Detail, "callback_url") {
			t.Errorf("callback_url %q: problem %+v", tc.url, p)
		}
	}
	for name, srv := range map[string]*server{"without callbacks": open, "with callbacks": s} {
		var list conveyor.JobPage
		srv.do("GET", "/v1/jobs", nil, &list)
		if len(list.Jobs) != 0 {
			t.Errorf("refused submits left %d jobs on the server %s", len(list.Jobs), name)
		}
	}
	if n := len(r.deliveries()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

// TestCallbackSurvivesRestart: a delivery still being retried when the
// gateway stops is made by the next gateway on the same broker.
func TestCallbackSurvivesRestart(t *testing.T) {
	r := newReceiver(t, 1<<30) // fails until told otherwise
	cfg := callbackConfig(t, strings.TrimPrefix(r.srv.URL, "http://"))
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 8}, "callback_url": r.srv.URL}, "", 202)
	testenv.Eventually(t, "a failed attempt", func() bool { return len(r.deliveries()) > 0 })
	s.app.Stop()

	r.mu.Lock()
	r.failFirst = 0
	r.mu.Unlock()
	s = startServer(t, cfg)
	var final conveyor.Job
	testenv.Eventually(t, "the callback delivered after the restart", func() bool {
		s.do("GET", "/v1/jobs/"+j.ID, nil, &final)
		return final.Callback.DeliveredAt != nil
	})
	if final.Callback.Attempts < 2 || final.Callback.LastStatus != 204 {
		t.Fatalf("callback %+v", final.Callback)
	}
}

// TestCallbackNoRedirect: a receiver's redirect is not followed, however
// allowed its target: it counts as a failed attempt.
func TestCallbackNoRedirect(t *testing.T) {
	target := newReceiver(t, 0)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL+"/elsewhere", http.StatusFound))
	t.Cleanup(redirect.Close)
	s := callbackServer(t, strings.TrimPrefix(redirect.URL, "http://"), strings.TrimPrefix(target.srv.URL, "http://"))
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": redirect.URL}, "", 202)
	var got conveyor.Job
	testenv.Eventually(t, "a first attempt", func() bool {
		s.do("GET", "/v1/jobs/"+j.ID, nil, &got)
		return got.Callback.Attempts > 0
	})
	if got.Callback.LastStatus != http.StatusFound || got.Callback.DeliveredAt != nil || len(target.deliveries()) != 0 {
		t.Fatalf("callback %+v, %d requests reached the redirect's target", got.Callback, len(target.deliveries()))
	}
}

// TestCallbackTwoGateways: with two gateways on one broker, both seeing
// every job turn final, each callback is POSTed once.
func TestCallbackTwoGateways(t *testing.T) {
	r := newReceiver(t, 0)
	natsAddr := testenv.FreeAddr(t)
	cfg := callbackConfig(t, strings.TrimPrefix(r.srv.URL, "http://"))
	cfg.Broker.Listen = natsAddr
	s1 := startServer(t, cfg)

	cfg2 := cfg
	cfg2.DataDir = t.TempDir() // each gateway keeps its own job index
	cfg2.Broker.Listen = ""
	cfg2.NATS.URL = "nats://" + natsAddr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a2, err := StartRoles(ctx, cfg2, RoleGateway, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a2.Stop)
	s2 := &server{t: t, app: a2, base: "http://" + a2.Addr()}

	const n = 20
	var ids []string
	for i := range n {
		s := []*server{s1, s2}[i%2]
		ids = append(ids, s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": i}, "callback_url": r.srv.URL}, "", 202).ID)
	}
	for _, id := range ids {
		testenv.Eventually(t, "callback of "+id, func() bool {
			var j conveyor.Job
			s2.do("GET", "/v1/jobs/"+id, nil, &j)
			return j.Callback != nil && j.Callback.DeliveredAt != nil
		})
	}
	seen := map[string]int{}
	for _, d := range r.deliveries() {
		var j conveyor.Job
		if err := json.Unmarshal(d.body, &j); err != nil {
			t.Fatal(err)
		}
		seen[j.ID]++
	}
	if len(seen) != n || len(r.deliveries()) != n {
		t.Fatalf("%d deliveries of %d jobs, want %d of %d: %v", len(r.deliveries()), len(seen), n, n, seen)
	}
}

// TestCallbackGivesUp: a receiver that keeps failing is retried until
// retry_for has passed since the job finished, then given up; the job
// says so, and no more attempts are made.
func TestCallbackGivesUp(t *testing.T) {
	r := newReceiver(t, 1<<30)
	cfg := callbackConfig(t, strings.TrimPrefix(r.srv.URL, "http://"))
	cfg.Callbacks.Backoff = conveyor.Duration(20 * time.Millisecond)
	cfg.Callbacks.RetryFor = conveyor.Duration(300 * time.Millisecond)
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": r.srv.URL}, "", 202)
	var got conveyor.Job
	testenv.Eventually(t, "the callback given up", func() bool {
		s.do("GET", "/v1/jobs/"+j.ID, nil, &got)
		return got.Callback.GaveUpAt != nil
	})
	c := got.Callback
	if c.Attempts < 2 || c.LastStatus != 500 || c.LastError != "HTTP 500" || c.DeliveredAt != nil || c.GaveUpAt.Sub(*got.FinishedAt) < 300*time.Millisecond {
		t.Fatalf("callback %+v of a job finished at %s", c, got.FinishedAt)
	}
	// A request after the give-up would be a delivery the job does not
	// show. One made later than the check would pass it, so a second job
	// to the same receiver serves as a barrier: finished after the give-up
	// and retried on the same schedule, it gives up only once any retry
	// the first job had due within retry_for of its give-up was made. (Its
	// first attempt would not do: it comes at once, before a retry due
	// after one backoff.)
	if n := r.requestsFor(t, j.ID); n != c.Attempts {
		t.Fatalf("the receiver got %d requests, the job shows %d attempts", n, c.Attempts)
	}
	next := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": r.srv.URL}, "", 202)
	testenv.Eventually(t, "the second job's callback given up", func() bool {
		var j conveyor.Job
		s.do("GET", "/v1/jobs/"+next.ID, nil, &j)
		return j.Callback.GaveUpAt != nil
	})
	if n := r.requestsFor(t, j.ID); n != c.Attempts {
		t.Fatalf("the receiver got %d requests after the give-up, the job shows %d attempts", n-c.Attempts, c.Attempts)
	}
}

// TestCallbackHostNoLongerAllowed: a pending callback whose host left
// callbacks.allow_hosts (a restart with a new config) is given up, never
// POSTed.
func TestCallbackHostNoLongerAllowed(t *testing.T) {
	r, other := newReceiver(t, 1<<30), newReceiver(t, 0)
	cfg := callbackConfig(t, strings.TrimPrefix(r.srv.URL, "http://"))
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}, "callback_url": r.srv.URL}, "", 202)
	testenv.Eventually(t, "a failed attempt", func() bool { return len(r.deliveries()) > 0 })
	s.app.Stop()
	tried := len(r.deliveries())

	cfg.Callbacks.AllowHosts = []string{strings.TrimPrefix(other.srv.URL, "http://")}
	s = startServer(t, cfg)
	var got conveyor.Job
	testenv.Eventually(t, "the callback given up", func() bool {
		s.do("GET", "/v1/jobs/"+j.ID, nil, &got)
		return got.Callback.GaveUpAt != nil
	})
	if n := len(r.deliveries()); n != tried || !strings.Contains(got.Callback.LastError, "allow_hosts") {
		t.Fatalf("%d requests after the host was removed; callback %+v", n-tried, got.Callback)
	}
}
