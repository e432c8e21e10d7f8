package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const queuedJob = `{"id":"j1","algorithm":"is_prime","status":"queued","input":{"n":7},"attempt":0,"max_attempts":3,"priority":"normal","created_at":"2025-06-01T11:59:00Z"}`

func TestSubmitRequests(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.json")
	if err := os.WriteFile(file, []byte("{\n  \"n\": 11\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		args  []string
		stdin string // "" with a terminal on stdin; else piped
		body  string // the request body the server must see
	}{
		{
			name: "default input on a terminal",
			args: []string{"is_prime"},
			body: `{"algorithm":"is_prime","input":{}}`,
		},
		{
			name: "inline data",
			args: []string{"is_prime", "--data", `{"n": 7}`},
			body: `{"algorithm":"is_prime","input":{"n":7}}`,
		},
		{
			name: "input file",
			args: []string{"--input", file, "is_prime"},
			body: `{"algorithm":"is_prime","input":{"n":11}}`,
		},
		{
			name:  "input from stdin with -",
			args:  []string{"is_prime", "--input", "-"},
			stdin: `[1, 2]`,
			body:  `{"algorithm":"is_prime","input":[1,2]}`,
		},
		{
			name:  "piped stdin without --input",
			args:  []string{"is_prime"},
			stdin: `{"n": 13}` + "\n",
			body:  `{"algorithm":"is_prime","input":{"n":13}}`,
		},
		{
			name:  "empty piped stdin",
			args:  []string{"is_prime"},
			stdin: " \n",
			body:  `{"algorithm":"is_prime","input":{}}`,
		},
		{
			name: "every option",
			args: []string{"is_prime", "--data", `{}`, "--priority", "high", "--timeout", "90", "--idempotency-key", "k1",
				"--max-attempts", "5", "--mutex", "m", "--label", "team=x", "--label", "env=a=b", "--callback-url", "https://hooks.example.com/done", "--requires", "gpu=a100", "--requires", "zone=eu"},
			body: `{"algorithm":"is_prime","input":{},"priority":"high","idempotency_key":"k1","mutex":"m","timeout":"1m30s","max_attempts":5,"callback_url":"https://hooks.example.com/done","labels":{"env":"a=b","team":"x"},"requires":{"gpu":"a100","zone":"eu"}}`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"POST /v1/jobs": reply(202, queuedJob)})
			got := runWith(t, f, func(e *env) {
				if tt.stdin != "" {
					e.stdin, e.stdinTTY = strings.NewReader(tt.stdin), false
				}
			}, append([]string{"submit"}, tt.args...)...)
			if got.code != 0 {
				t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
			}
			reqs := f.requests()
			if len(reqs) != 1 || reqs[0].Body != tt.body || reqs[0].Query != "" {
				t.Errorf("requests %+v\nwant one with body %s", reqs, tt.body)
			}
			if got.stdout != "j1\n" {
				t.Errorf("stdout %q, want the job id alone (stdout is not a terminal)", got.stdout)
			}
		})
	}
}

// TestSubmitPrints: without --wait, submit prints the id alone when its
// stdout is not a terminal (ID=$(conveyor submit …)), the job on a
// terminal, and the job as JSON with --json either way.
func TestSubmitPrints(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tty   bool
		args  []string
		check func(string) bool
	}{
		{"piped", false, []string{"submit", "is_prime", "--input", "-"}, func(s string) bool { return s == "j1\n" }},
		{"terminal", true, []string{"submit", "is_prime", "--data", "{}"}, func(s string) bool { return strings.HasPrefix(s, "ID:         j1\n") }},
		{"json", false, []string{"submit", "--json", "is_prime", "--input", "-"}, func(s string) bool { return strings.HasPrefix(s, "{\n  \"id\": \"j1\",") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"POST /v1/jobs": reply(202, queuedJob)})
			got := runWith(t, f, func(e *env) {
				e.stdin, e.stdinTTY, e.stdoutTTY = strings.NewReader(`{"n": 7}`), false, tt.tty
			}, tt.args...)
			if got.code != 0 || !tt.check(got.stdout) {
				t.Errorf("exit %d, stdout %q", got.code, got.stdout)
			}
		})
	}
}

func TestSubmitJSON(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/jobs": reply(202, queuedJob)})
	got := runCLI(t, f, "submit", "--json", "is_prime")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "{\n  \"id\": \"j1\",\n  \"algorithm\": \"is_prime\",\n  \"status\": \"queued\",") {
		t.Errorf("exit %d, stdout %q", got.code, got.stdout)
	}
}

func TestSubmitUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{}, "missing algorithm name"},
		{[]string{"Is-Prime"}, `invalid algorithm name "Is-Prime"`},
		{[]string{"a", "b"}, `unexpected argument "b"`},
		{[]string{"a", "--priority", "urgent"}, `--priority: unknown priority "urgent"`},
		{[]string{"a", "--data", "{}", "--input", "x.json"}, "--input and --data exclude each other"},
		{[]string{"a", "--data", "{n:1}"}, "--data is not valid JSON: invalid character 'n'"},
		{[]string{"a", "--label", "novalue"}, `invalid value "novalue" for flag -label: want key=value`},
		{[]string{"a", "--label", "=v"}, `want key=value`},
		{[]string{"a", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{[]string{"a", "--max-attempts", "-1"}, "--max-attempts: must not be negative"},
		{[]string{"a", "--wait-timeout", "5s"}, "--wait-timeout needs --wait"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFake(t, nil)
			got := runCLI(t, f, append([]string{"submit"}, tt.args...)...)
			if got.code != 2 || !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", got.code, got.stderr, tt.stderr)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d requests, want none", n)
			}
		})
	}
}

func TestSubmitInputErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"n":`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"a", "--input", filepath.Join(t.TempDir(), "missing.json")}, "conveyor: reading the input: open "},
		{[]string{"a", "--input", bad}, "conveyor: the input from " + bad + " is not valid JSON: unexpected end of JSON input"},
	} {
		got := runCLI(t, newFake(t, nil), append([]string{"submit"}, tt.args...)...)
		if got.code != 1 || !strings.HasPrefix(got.stderr, tt.stderr) {
			t.Errorf("submit %q: exit %d, stderr %q; want 1 and %q", tt.args, got.code, got.stderr, tt.stderr)
		}
	}
}

func TestSubmitWait(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/jobs": reply(202, queuedJob),
		"GET /v1/jobs/{id}": sequence(
			`{"id":"j1","status":"running","attempt":1,"max_attempts":3,"progress":{"percent":50,"message":"half way"}}`,
			`{"id":"j1","status":"succeeded","attempt":1,"max_attempts":3,"output":{"prime":true}}`,
		),
	})
	got := runCLI(t, f, "submit", "is_prime", "--wait")
	if got.code != 0 {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	if want := "job j1 submitted\nqueued\nrunning 50% half way\nsucceeded\n"; got.stderr != want {
		t.Errorf("stderr %q, want %q", got.stderr, want)
	}
	if !strings.Contains(got.stdout, "Status:     succeeded\n") || !strings.HasSuffix(got.stdout, "Output:\n  {\n    \"prime\": true\n  }\n") {
		t.Errorf("stdout:\n%s", got.stdout)
	}
	reqs := f.requests()
	if reqs[0].Query != "wait=5ms" {
		t.Errorf("submit query %q, want a short wait", reqs[0].Query)
	}
	for _, r := range reqs[1:] {
		if r.Method != "GET" || r.Path != "/v1/jobs/j1" || r.Query != "wait=5ms" {
			t.Errorf("request %+v, want GET /v1/jobs/j1?wait=5ms", r)
		}
	}
}

// A job that finishes within the submit's own wait needs no more requests.
func TestSubmitWaitFinishedAtOnce(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/jobs": reply(200, `{"id":"j1","status":"failed","attempt":1,"max_attempts":1,"error":{"type":"error","message":"boom"}}`),
	})
	got := runCLI(t, f, "submit", "is_prime", "--wait", "--json")
	if got.code != 1 || got.stderr != "conveyor: job j1 failed: error: boom\n" || !strings.HasPrefix(got.stdout, "{\n") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", got.code, got.stdout, got.stderr)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
