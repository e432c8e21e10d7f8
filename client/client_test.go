package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// request is what the fake server saw of one request.
type request struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// recorder holds the requests a fake server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

// all returns the requests so far.
func (r *recorder) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// serve starts a server that records each request and answers with h, and
// returns a Client for it and the recorder.
func serve(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *recorder) {
	t.Helper()
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body), r.Header})
		rec.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// reply returns a handler that answers status with body as JSON.
func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		url, base string // base "" means New fails with EINVALID
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"https://example.com/conveyor/", "https://example.com/conveyor"},
		{"https://example.com/a%20b", "https://example.com/a%20b"},
		{"127.0.0.1:8080", ""},
		{"localhost", ""},
		{"ftp://example.com", ""},
		{"http://", ""},
		{"http://example.com?x=1", ""},
		{"http://exa mple.com", ""},
	} {
		c, err := New(tt.url)
		if tt.base == "" {
			if code := conveyor.ErrorCode(err); code != conveyor.EINVALID {
				t.Errorf("New(%q): error %v (code %q), want an %s error", tt.url, err, code, conveyor.EINVALID)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", tt.url, err)
			continue
		}
		if got := c.BaseURL(); got != tt.base {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tt.url, got, tt.base)
		}
	}
}

func TestHeaders(t *testing.T) {
	c, reqs := serve(t, reply(200, `{"id":"j1"}`), WithToken("s3cret"), WithUserAgent("test/1"))
	if _, err := c.Submit(context.Background(), conveyor.SubmitRequest{Algorithm: "a"}); err != nil {
		t.Fatal(err)
	}
	h := reqs.all()[0].Header
	for name, want := range map[string]string{
		"Authorization": "Bearer s3cret",
		"User-Agent":    "test/1",
		"Content-Type":  "application/json",
		"Accept":        "application/json, application/problem+json",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}

	c, reqs = serve(t, reply(200, `{"id":"j1"}`))
	if _, err := c.Get(context.Background(), "j1"); err != nil {
		t.Fatal(err)
	}
	h = reqs.all()[0].Header
	if got := h.Get("Authorization"); got != "" {
		t.Errorf("without a token, Authorization = %q", got)
	}
	if got := h.Get("Content-Type"); got != "" {
		t.Errorf("without a body, Content-Type = %q", got)
	}
	if got, want := h.Get("User-Agent"), "conveyor-go/"+conveyor.Version; got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), "j1")
	if code := conveyor.ErrorCode(err); code != conveyor.EUNAVAILABLE {
		t.Fatalf("Get from a closed server: %v (code %q), want %s", err, code, conveyor.EUNAVAILABLE)
	}
}

func TestContextCanceled(t *testing.T) {
	c, _ := serve(t, reply(200, `{}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Get(ctx, "j1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context: %v, want context.Canceled", err)
	}
}

func TestBadResponseBody(t *testing.T) {
	c, _ := serve(t, reply(200, `{"id":`))
	_, err := c.Get(context.Background(), "j1")
	if code := conveyor.ErrorCode(err); code != conveyor.EINTERNAL {
		t.Fatalf("Get with a truncated body: %v (code %q), want %s", err, code, conveyor.EINTERNAL)
	}
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		body     string
		call     func(c *Client) (any, error)
		wantPath string
		want     any
	}{
		{
			name:     "Algorithms",
			body:     `{"algorithms":[{"name":"is_prime","kind":"go","runners":["r1"],"queued":2,"running":1}]}`,
			call:     func(c *Client) (any, error) { return c.Algorithms(ctx) },
			wantPath: "/v1/algorithms",
			want: &conveyor.AlgorithmList{Algorithms: []conveyor.AlgorithmInfo{{
				Algorithm: conveyor.Algorithm{Name: "is_prime", Kind: "go"},
				Runners:   []string{"r1"}, Queued: 2, Running: 1,
			}}},
		},
		{
			name:     "Algorithm",
			body:     `{"name":"is_prime","kind":"go","input_schema":{"type":"object"},"runners":[]}`,
			call:     func(c *Client) (any, error) { return c.Algorithm(ctx, "is_prime") },
			wantPath: "/v1/algorithms/is_prime",
			want: &conveyor.AlgorithmInfo{
				Algorithm: conveyor.Algorithm{Name: "is_prime", Kind: "go", InputSchema: json.RawMessage(`{"type":"object"}`)},
				Runners:   []string{},
			},
		},
		{
			name:     "Runners",
			body:     `{"runners":[{"id":"r1","host":"h","algorithms":["a"],"capacity":4,"busy":1}]}`,
			call:     func(c *Client) (any, error) { return c.Runners(ctx) },
			wantPath: "/v1/runners",
			want:     &conveyor.RunnerList{Runners: []conveyor.RunnerInfo{{ID: "r1", Host: "h", Algorithms: []string{"a"}, Capacity: 4, Busy: 1}}},
		},
		{
			name:     "Health",
			body:     `{"status":"ok","version":"v1.2.3"}`,
			call:     func(c *Client) (any, error) { return c.Health(ctx) },
			wantPath: "/healthz",
			want:     &conveyor.Health{Status: "ok", Version: "v1.2.3"},
		},
		{
			name:     "Ready",
			body:     `{"status":"ok","version":"v1.2.3"}`,
			call:     func(c *Client) (any, error) { return c.Ready(ctx) },
			wantPath: "/readyz",
			want:     &conveyor.Health{Status: "ok", Version: "v1.2.3"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := serve(t, reply(200, tt.body))
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if r := reqs.all()[0]; r.Method != "GET" || r.Path != tt.wantPath {
				t.Errorf("request %s %s, want GET %s", r.Method, r.Path, tt.wantPath)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHealthUnhealthy(t *testing.T) {
	c, _ := serve(t, reply(503, `{"status":"unavailable","version":"v1","checks":{"runners":"none","broker":"down"}}`))
	h, err := c.Ready(context.Background())
	if h == nil || h.Status != "unavailable" || h.Version != "v1" {
		t.Errorf("Ready() = %+v, want the unhealthy body", h)
	}
	if code := conveyor.ErrorCode(err); code != conveyor.EUNAVAILABLE {
		t.Errorf("Ready() error %v (code %q), want %s", err, code, conveyor.EUNAVAILABLE)
	}
	if want := "server is unavailable (broker: down; runners: none)"; err == nil || err.Error() != want {
		t.Errorf("Ready() error %q, want %q", err, want)
	}
}

func TestAlgorithmEscapesName(t *testing.T) {
	c, reqs := serve(t, reply(404, `{}`))
	_, err := c.Algorithm(context.Background(), "a/b")
	if conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("error %v, want not found", err)
	}
	if got := reqs.all()[0].Path; got != "/v1/algorithms/a%2Fb" {
		t.Errorf("path %q, want the name escaped", got)
	}
	if _, err := c.Algorithm(context.Background(), ""); conveyor.ErrorCode(err) != conveyor.EINVALID {
		t.Errorf("Algorithm(\"\"): %v, want an invalid error", err)
	}
}

func TestPathPrefix(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		reply(200, `{"status":"ok"}`)(w, r)
	}))
	defer srv.Close()
	c, err := New(srv.URL + "/conveyor/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != "/conveyor/healthz" {
		t.Errorf("path %q, want /conveyor/healthz", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestTraceparent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	c, reqs := serve(t, reply(202, `{"id":"j1"}`))
	if _, err := c.Submit(conveyor.WithTraceparent(context.Background(), tp), conveyor.SubmitRequest{Algorithm: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(context.Background(), conveyor.SubmitRequest{Algorithm: "a"}); err != nil {
		t.Fatal(err)
	}
	all := reqs.all()
	if got := all[0].Header.Get("traceparent"); got != tp {
		t.Errorf("with a traceparent in the context: header %q", got)
	}
	if got, ok := all[1].Header["Traceparent"]; ok {
		t.Errorf("without one: header %q, want none", got)
	}
}
