package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testNow is the current time of every test run.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// request is what the fake server saw of one request.
type request struct {
	Method, Path, Query, Body string
}

// fake is a stand-in for the gateway: it records requests and serves mux.
type fake struct {
	mu   sync.Mutex
	reqs []request
	mux  *http.ServeMux
	url  string
}

// newFake starts a fake gateway that serves routes, keyed by ServeMux
// patterns ("GET /v1/jobs/{id}").
func newFake(t *testing.T, routes map[string]http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{mux: http.NewServeMux()}
	for pattern, h := range routes {
		f.mux.HandleFunc(pattern, h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body)})
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// requests returns the requests the fake has seen.
func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// reply answers status with the JSON body.
func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// problem answers status with a problem+json body.
func problem(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// sequence answers the nth request with bodies[n] (status 200), and every
// later one with the last body.
func sequence(bodies ...string) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		reply(200, bodies[min(int(n.Add(1))-1, len(bodies)-1)])(w, r)
	}
}

// cli is the result of one run of the command line.
type cli struct {
	code           int
	stdout, stderr string
}

// testEnv returns an env with a fixed clock, no terminal, the server url
// and fast polling.
func testEnv(server string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"CONVEYOR_SERVER": server}
	return &env{
		stdin:    strings.NewReader(""),
		stdout:   &stdout,
		stderr:   &stderr,
		getenv:   func(k string) string { return vars[k] },
		stdinTTY: true,
		now:      func() time.Time { return testNow },
		loc:      time.UTC,
		waitPoll: 5 * time.Millisecond,
	}, &stdout, &stderr
}

// runCLI runs conveyor args against the fake f (nil: a server that is not
// there).
func runCLI(t *testing.T, f *fake, args ...string) cli {
	t.Helper()
	return runWith(t, f, func(*env) {}, args...)
}

// runWith is runCLI with a chance to change the env first.
func runWith(t *testing.T, f *fake, change func(*env), args ...string) cli {
	t.Helper()
	server := "http://127.0.0.1:1" // nothing listens there
	if f != nil {
		server = f.url
	}
	e, stdout, stderr := testEnv(server)
	change(e)
	code := run(context.Background(), args, e)
	return cli{code, stdout.String(), stderr.String()}
}

func TestDispatch(t *testing.T) {
	for _, tt := range []struct {
		args               []string
		code               int
		stdout, stderr     string // substrings expected
		noStdout, noStderr bool
	}{
		{args: nil, code: 2, stderr: "Usage: conveyor <command>", noStdout: true},
		{args: []string{"help"}, code: 0, stdout: "Usage: conveyor <command>", noStderr: true},
		{args: []string{"--help"}, code: 0, stdout: "Exit status:", noStderr: true},
		{args: []string{"frobnicate"}, code: 2, stderr: "conveyor: unknown command \"frobnicate\"\n\nConveyor turns", noStdout: true},
		{args: []string{"help", "submit"}, code: 0, stdout: "Usage: conveyor submit ALGO [flags]", noStderr: true},
		{args: []string{"help", "frobnicate"}, code: 2, stderr: "unknown command", noStdout: true},
		{args: []string{"status", "-h"}, code: 0, stderr: "Usage: conveyor status ID [flags]", noStdout: true},
		{args: []string{"status"}, code: 2, stderr: "conveyor status: missing job ID\nRun 'conveyor help status' for usage.\n", noStdout: true},
		{args: []string{"status", "a", "b"}, code: 2, stderr: "conveyor status: unexpected argument \"b\"", noStdout: true},
		{args: []string{"jobs", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus\nUsage: conveyor jobs [flags]", noStdout: true},
		{args: []string{"jobs", "--status", "done"}, code: 2, stderr: "conveyor jobs: --status: unknown status \"done\"", noStdout: true},
		{args: []string{"jobs", "--limit", "-1"}, code: 2, stderr: "--limit: must not be negative", noStdout: true},
		{args: []string{"status", "--server", "ftp://x", "j1"}, code: 2, stderr: "conveyor status: --server: invalid server URL", noStdout: true},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := runCLI(t, nil, tt.args...)
			if got.code != tt.code {
				t.Errorf("exit %d, want %d", got.code, tt.code)
			}
			if !strings.Contains(got.stdout, tt.stdout) || (tt.noStdout && got.stdout != "") {
				t.Errorf("stdout:\n%s\nwant it to contain %q", got.stdout, tt.stdout)
			}
			if !strings.Contains(got.stderr, tt.stderr) || (tt.noStderr && got.stderr != "") {
				t.Errorf("stderr:\n%s\nwant it to contain %q", got.stderr, tt.stderr)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		min, max int
		pos      string // joined by ","
		wait     bool
		err      string
	}{
		{args: []string{"a"}, min: 1, max: 1, pos: "a"},
		{args: []string{"a", "--wait"}, min: 1, max: 1, pos: "a", wait: true},
		{args: []string{"--wait", "a"}, min: 1, max: 1, pos: "a", wait: true},
		{args: []string{"a", "-wait", "b"}, min: 0, max: -1, pos: "a,b", wait: true},
		{args: []string{"a", "--", "--wait", "-"}, min: 0, max: -1, pos: "a,--wait,-"},
		{args: []string{"-"}, min: 1, max: 1, pos: "-"},
		{args: []string{}, min: 1, max: 1, err: "missing ALGO"},
		{args: []string{"a", "b"}, min: 1, max: 1, err: `unexpected argument "b"`},
		{args: []string{"--nope"}, min: 0, max: 1, err: "flag provided but not defined: -nope"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		wait := fs.Bool("wait", false, "")
		pos, err := parseArgs(fs, tt.args, tt.min, tt.max, "ALGO")
		switch {
		case tt.err != "":
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseArgs(%q): error %v, want %q", tt.args, err, tt.err)
			}
		case err != nil:
			t.Errorf("parseArgs(%q): %v", tt.args, err)
		case strings.Join(pos, ",") != tt.pos || *wait != tt.wait:
			t.Errorf("parseArgs(%q) = %q, wait=%v; want %q, wait=%v", tt.args, pos, *wait, tt.pos, tt.wait)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	got := runCLI(t, nil, "status", "j1")
	if got.code != 1 || !strings.HasPrefix(got.stderr, "conveyor: cannot reach the server at http://127.0.0.1:1: ") {
		t.Errorf("exit %d, stderr %q; want 1 and cannot reach", got.code, got.stderr)
	}
}

func TestServerWithoutScheme(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/{id}": reply(200, `{"id":"j1","status":"queued"}`)})
	got := runCLI(t, f, "status", "--server", strings.TrimPrefix(f.url, "http://"), "j1")
	if got.code != 0 {
		t.Errorf("exit %d, stderr %q", got.code, got.stderr)
	}
}

func TestServerErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		h      http.HandlerFunc
		stderr string
	}{
		{
			name: "violations",
			h: problem(400, `{"title":"Bad Request","status":400,"code":"invalid","detail":"input violates the schema of is_prime",
				"errors":[{"pointer":"/n","message":"minimum: got -1, want 0"},{"pointer":"","message":"missing property \"m\""}]}`),
			stderr: "conveyor: input violates the schema of is_prime\n  /n: minimum: got -1, want 0\n  (input): missing property \"m\"\n",
		},
		{
			name: "queue full",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "5")
				problem(429, `{"detail":"queue of is_prime is full"}`)(w, r)
			},
			stderr: "conveyor: queue of is_prime is full (retry after 5s)\n",
		},
		{
			name:   "unknown algorithm",
			h:      problem(404, `{"title":"Not Found","status":404,"code":"not_found","detail":"unknown algorithm \"is_prime\""}`),
			stderr: "conveyor: unknown algorithm \"is_prime\"\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"POST /v1/jobs": tt.h})
			got := runCLI(t, f, "submit", "is_prime", "--data", `{"n":-1}`)
			if got.code != 1 || got.stderr != tt.stderr || got.stdout != "" {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit 1 and stderr %q", got.code, got.stdout, got.stderr, tt.stderr)
			}
		})
	}
}
