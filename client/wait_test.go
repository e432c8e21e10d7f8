package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// script returns a handler that answers the nth request with bodies[n], and
// the last body to every request after.
func script(bodies ...string) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(bodies)-1)
		reply(200, bodies[i])(w, r)
	}
}

func TestWait(t *testing.T) {
	c, reqs := serve(t, script(
		`{"id":"j1","status":"queued"}`,
		`{"id":"j1","status":"running","progress":{"percent":50,"message":"half"}}`,
		`{"id":"j1","status":"succeeded","output":{"ok":true}}`,
	))
	var seen []conveyor.Status
	job, err := c.Wait(context.Background(), "j1", 0,
		PollInterval(5*time.Millisecond),
		OnUpdate(func(j *conveyor.Job) { seen = append(seen, j.Status) }))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != conveyor.StatusSucceeded || string(job.Output) != `{"ok":true}` {
		t.Errorf("Wait returned %+v", job)
	}
	if want := []conveyor.Status{"queued", "running", "succeeded"}; !equal(seen, want) {
		t.Errorf("OnUpdate saw %v, want %v", seen, want)
	}
	for _, r := range reqs.all() {
		if r.Method != "GET" || r.Path != "/v1/jobs/j1" || r.Query != "wait=5ms" {
			t.Errorf("request %s %s?%s, want GET /v1/jobs/j1?wait=5ms", r.Method, r.Path, r.Query)
		}
	}
}

func TestWaitDefaultPoll(t *testing.T) {
	c, reqs := serve(t, script(`{"id":"j1","status":"failed","error":{"type":"error","message":"boom"}}`))
	job, err := c.Wait(context.Background(), "j1", 0)
	if err != nil || job.Status != conveyor.StatusFailed {
		t.Fatalf("Wait = %+v, %v; want the failed job and no error", job, err)
	}
	if q := reqs.all()[0].Query; q != "wait=30s" {
		t.Errorf("query %q, want wait=30s", q)
	}
}

func TestWaitCapsPollAtLimit(t *testing.T) {
	c, reqs := serve(t, script(`{"id":"j1","status":"succeeded"}`))
	if _, err := c.Wait(context.Background(), "j1", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(reqs.all()[0].Query)
	d, err := time.ParseDuration(q.Get("wait"))
	if err != nil || d > 2*time.Second || d < time.Second {
		t.Errorf("wait=%q, want about 2s", q.Get("wait"))
	}
}

func TestWaitTimeout(t *testing.T) {
	c, reqs := serve(t, script(`{"id":"j1","status":"running"}`))
	start := time.Now()
	job, err := c.Wait(context.Background(), "j1", 50*time.Millisecond, PollInterval(10*time.Millisecond))
	if !errors.Is(err, ErrWaitTimeout) || conveyor.ErrorCode(err) != conveyor.ETIMEOUT {
		t.Fatalf("error %v, want ErrWaitTimeout", err)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("returned after %v, before the limit", elapsed)
	}
	if job == nil || job.Status != conveyor.StatusRunning {
		t.Errorf("job %+v, want the last state seen", job)
	}
	if n := len(reqs.all()); n < 2 {
		t.Errorf("%d requests, want several", n)
	}
}

// A server that ignores ?wait= and answers at once must not be hammered.
func TestWaitDoesNotSpin(t *testing.T) {
	c, reqs := serve(t, script(`{"id":"j1","status":"running"}`))
	_, err := c.Wait(context.Background(), "j1", 100*time.Millisecond, PollInterval(20*time.Millisecond))
	if !errors.Is(err, ErrWaitTimeout) {
		t.Fatalf("error %v, want ErrWaitTimeout", err)
	}
	if n := len(reqs.all()); n > 7 {
		t.Errorf("%d requests in 100ms with a 20ms poll, want at most about 5", n)
	}
}

func TestWaitContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			cancel()
		}
		reply(200, `{"id":"j1","status":"queued"}`)(w, r)
	})
	job, err := c.Wait(ctx, "j1", 0, PollInterval(5*time.Millisecond))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if job == nil || job.Status != conveyor.StatusQueued {
		t.Errorf("job %+v, want the last state seen", job)
	}
}

func TestWaitNotFound(t *testing.T) {
	c, _ := serve(t, reply(404, `{"title":"Not Found","detail":"no job j1","code":"not_found"}`))
	job, err := c.Wait(context.Background(), "j1", time.Second)
	if conveyor.ErrorCode(err) != conveyor.ENOTFOUND || job != nil {
		t.Fatalf("Wait = %v, %v; want nil and a not-found error", job, err)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
