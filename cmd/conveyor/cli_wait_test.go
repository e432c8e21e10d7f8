package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

func TestWait(t *testing.T) {
	const (
		queued    = `{"id":"j1","status":"queued","attempt":0,"max_attempts":3}`
		running   = `{"id":"j1","status":"running","attempt":1,"max_attempts":3,"progress":{"percent":25,"message":"loading"}}`
		running2  = `{"id":"j1","status":"running","attempt":1,"max_attempts":3,"progress":{"percent":75,"message":"training"}}`
		retrying  = `{"id":"j1","status":"queued","attempt":1,"max_attempts":3,"error":{"type":"crashed","message":"runner died"}}`
		attempt2  = `{"id":"j1","status":"running","attempt":2,"max_attempts":3}`
		succeeded = `{"id":"j1","status":"succeeded","attempt":2,"max_attempts":3,"output":{"ok":true}}`
		failed    = `{"id":"j1","status":"failed","attempt":1,"max_attempts":1,"error":{"type":"error","message":"boom","detail":"stack"}}`
		canceled  = `{"id":"j1","status":"canceled","attempt":0,"max_attempts":3,"error":{"type":"canceled","message":"canceled by request"}}`
	)
	for _, tt := range []struct {
		name   string
		bodies []string
		args   []string
		code   int
		stderr string
		stdout string // a substring
	}{
		{
			name:   "succeeded after a retry",
			bodies: []string{queued, running, running, running2, retrying, attempt2, succeeded},
			code:   0,
			stderr: "queued\nrunning 25% loading\nrunning 75% training\nqueued for retry 2/3 after crashed: runner died\nrunning attempt 2/3\nsucceeded\n",
			stdout: "Output:\n  {\n    \"ok\": true\n  }\n",
		},
		{
			name:   "failed",
			bodies: []string{running, failed},
			code:   1,
			stderr: "running 25% loading\nfailed\nconveyor: job j1 failed: error: boom\n",
			stdout: "Error:      error: boom\nDetail:\n  stack\n",
		},
		{
			name:   "canceled",
			bodies: []string{canceled},
			code:   1,
			stderr: "canceled\nconveyor: job j1 canceled: canceled by request\n",
			stdout: "Status:     canceled\n",
		},
		{
			name:   "timed out",
			bodies: []string{running},
			args:   []string{"--timeout", "30ms"},
			code:   3,
			stderr: "running 25% loading\nconveyor: timed out after 30ms: job j1 is still running\n",
			stdout: "Status:     running\n",
		},
		{
			name:   "json",
			bodies: []string{succeeded},
			args:   []string{"--json"},
			code:   0,
			stderr: "succeeded\n",
			stdout: "{\n  \"id\": \"j1\",\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/j1": sequence(tt.bodies...)})
			got := runCLI(t, f, append([]string{"wait", "j1"}, tt.args...)...)
			if got.code != tt.code || got.stderr != tt.stderr || !strings.Contains(got.stdout, tt.stdout) {
				t.Errorf("exit %d, want %d\nstderr %q\n  want %q\nstdout:\n%s\nwant it to contain:\n%s", got.code, tt.code, got.stderr, tt.stderr, got.stdout, tt.stdout)
			}
		})
	}
}

func TestWaitInterrupted(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/j1": reply(200, `{"id":"j1","status":"running"}`)})
	e, stdout, stderr := testEnv(f.url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	code := run(ctx, []string{"wait", "j1"}, e)
	want := "running\nconveyor: interrupted; job j1 goes on (wait again with: conveyor wait j1)\n"
	if code != exitInterrupted || stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q\nstderr %q\n  want %q", code, stdout, stderr, want)
	}
}

func TestProgressBar(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/j1": sequence(
		`{"id":"j1","status":"queued"}`,
		`{"id":"j1","status":"running","attempt":1,"progress":{"percent":50,"message":"half way there"}}`,
		`{"id":"j1","status":"running","attempt":1,"progress":{"percent":50,"message":"half way there"}}`,
		`{"id":"j1","status":"running","attempt":1,"progress":{"percent":62.5,"message":"more"}}`,
		`{"id":"j1","status":"succeeded","attempt":1}`,
	)})
	got := runWith(t, f, func(e *env) { e.stderrTTY = true }, "wait", "j1")
	lines := []string{
		"[....................]       queued",
		"[##########..........]   50% running: half way there",
		"[#############.......] 62.5% running: more" + strings.Repeat(" ", 10),
		"[####################]  100% succeeded" + strings.Repeat(" ", 4),
	}
	want := "\r" + strings.Join(lines, "\r") + "\r" + strings.Repeat(" ", 38) + "\r"
	if got.code != 0 || got.stderr != want {
		t.Errorf("exit %d\nstderr %q\n  want %q", got.code, got.stderr, want)
	}
}

func TestBarLineFitsTerminal(t *testing.T) {
	j := &conveyor.Job{Status: conveyor.StatusRunning, Attempt: 1, Progress: &conveyor.Progress{Percent: 1, Message: strings.Repeat("x", 200)}}
	e, _, stderr := testEnv("")
	e.stderrTTY = true
	e.getenv = func(k string) string { return map[string]string{"COLUMNS": "50"}[k] }
	p := e.newProgressView()
	p.update(j)
	if got := stderr.String(); len([]rune(got)) != 50 || !strings.HasSuffix(got, "x…") {
		t.Errorf("bar %q (%d runes), want 49 runes after \\r, cut with …", got, len([]rune(got)))
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{300 * time.Microsecond, "<1ms"},
		{1234 * time.Microsecond, "1ms"},
		{850 * time.Millisecond, "850ms"},
		{2345 * time.Millisecond, "2.3s"},
		{59 * time.Second, "59s"},
		{4*time.Minute + 12*time.Second + 400*time.Millisecond, "4m12s"},
		{5 * time.Minute, "5m"},
		{3*time.Hour + 5*time.Minute + 10*time.Second, "3h5m"},
		{2 * time.Hour, "2h"},
		{49 * time.Hour, "49h"},
	} {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for p, want := range map[float64]string{0: "0%", 42: "42%", 42.5: "42.5%", 33.333: "33.3%", 100: "100%"} {
		if got := fmtPercent(p); got != want {
			t.Errorf("fmtPercent(%v) = %q, want %q", p, got, want)
		}
	}
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{{"hello", 5, "hello"}, {"hello!", 5, "hell…"}, {"héllo wörld", 6, "héllo…"}} {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
