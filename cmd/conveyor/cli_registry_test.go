package main

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

func TestAlgorithms(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/algorithms": reply(200, `{"algorithms":[
			{"name":"classify","kind":"worker","description":"Classify an image.\nLong text.","runners":["r1","r2"],"queued":4,"running":2},
			{"name":"is_prime","kind":"go","runners":["r1"],"queued":0,"running":0}]}`),
		"GET /v1/algorithms/is_prime": reply(200, `{"name":"is_prime","kind":"go","description":"Tell primes.","timeout":"30s",
			"input_schema":{"type":"object","properties":{"n":{"type":"integer","minimum":0}}},"runners":["r1"],"workers":4,"queued":1,"running":0}`),
	})
	got := runCLI(t, f, "algorithms")
	want := `NAME      KIND    RUNNERS  QUEUED  RUNNING  DESCRIPTION
classify  worker  2        4       2        Classify an image.
is_prime  go      1        0       0        -
`
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", got.code, got.stdout, want, got.stderr)
	}

	got = runCLI(t, f, "algorithms", "is_prime")
	want = `Name:          is_prime
Kind:          go
Description:   Tell primes.
Timeout:       30s
Max attempts:  3
Runners:       r1
Workers:       4
Queued:        1
Running:       0
Input schema:
  {
    "type": "object",
    "properties": {
      "n": {
        "type": "integer",
        "minimum": 0
      }
    }
  }
`
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", got.code, got.stdout, want, got.stderr)
	}
}

func TestAlgorithmBatches(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/algorithms/embed": reply(200, `{"name":"embed","kind":"worker","batch":{"max_size":32,"max_wait":"10ms"},"runners":["r1"],"queued":0,"running":0}`),
	})
	got := runCLI(t, f, "algorithms", "embed")
	want := "Batches:       up to 32 jobs, waiting up to 10ms for more\n"
	if got.code != 0 || !strings.Contains(got.stdout, want) {
		t.Errorf("exit %d\nstdout:\n%s\nwant a line:\n%s", got.code, got.stdout, want)
	}
}

func TestAlgorithmConflict(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/algorithms/is_prime": reply(200, `{"name":"is_prime","kind":"go","runners":["r1","r2"],"queued":0,"running":0,
			"conflicts":[{"runner":"r2","input_schema_sha256":"aaaaaaaaaaaaaaaaaaaa","registered_sha256":"bbbbbbbbbbbbbbbbbbbb"}]}`),
	})
	got := runCLI(t, f, "algorithms", "is_prime")
	want := "Conflict:      runner r2 serves it with another input schema (sha256 aaaaaaaaaaaa, registered bbbbbbbbbbbb)\n"
	if got.code != 0 || !strings.Contains(got.stdout, want) {
		t.Errorf("exit %d\nstdout:\n%s\nwant a line:\n%s", got.code, got.stdout, want)
	}
}

func TestAlgorithmsEmpty(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/algorithms": reply(200, `{"algorithms":[]}`)})
	if got := runCLI(t, f, "algorithms"); got.code != 0 || got.stdout != "No algorithms: no runner serves any.\n" {
		t.Errorf("exit %d, stdout %q", got.code, got.stdout)
	}
}

func TestRunners(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/runners": reply(200, `{"runners":[
		{"id":"r1","host":"box","pid":42,"version":"v1.0.0","algorithms":["classify","is_prime"],"capacity":4,"busy":1,
		 "started_at":"2025-06-01T10:00:00Z","last_seen":"2025-06-01T11:59:57Z"}]}`)})
	got := runCLI(t, f, "runners")
	want := `ID  HOST  BUSY  ALGORITHMS         VERSION  LAST SEEN
r1  box   1/4   classify,is_prime  v1.0.0   3s ago
`
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", got.code, got.stdout, want, got.stderr)
	}
	got = runCLI(t, f, "runners", "--json")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "{\n  \"runners\": [\n    {\n      \"id\": \"r1\",") {
		t.Errorf("--json: exit %d, stdout %q", got.code, got.stdout)
	}
}

func TestVersion(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /healthz": reply(200, `{"status":"ok","version":"v1.2.3"}`)})
	got := runCLI(t, f, "version")
	want := "client: " + conveyor.Version + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n" +
		"server: v1.2.3 (ok, " + f.url + ")\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d, stdout %q, want %q", got.code, got.stdout, want)
	}

	got = runCLI(t, nil, "version")
	if got.code != 0 || !strings.Contains(got.stdout, "\nserver: unknown (cannot reach the server at http://127.0.0.1:1: ") {
		t.Errorf("unreachable: exit %d, stdout %q", got.code, got.stdout)
	}

	got = runCLI(t, nil, "version", "--json")
	if got.code != 0 || !strings.Contains(got.stdout, `"server_error": "cannot reach`) || !strings.Contains(got.stdout, `"client": "`+conveyor.Version+`"`) {
		t.Errorf("--json: exit %d, stdout %q", got.code, got.stdout)
	}
}

func TestWatchOnce(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/algorithms": reply(200, `{"algorithms":[{"name":"is_prime","kind":"go","runners":["r1"],"queued":3,"running":1,"description":"Primes."}]}`),
		"GET /v1/runners":    reply(200, `{"runners":[{"id":"r1","host":"h","busy":1,"capacity":2,"algorithms":["is_prime"],"version":"dev","last_seen":"2025-06-01T11:59:58Z"}]}`),
	})
	got := runCLI(t, f, "watch", "--once")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "== ") || !strings.Contains(got.stdout, "\nNAME ") ||
		!strings.Contains(got.stdout, "is_prime  go    1        3       1") || !strings.Contains(got.stdout, "1/2") {
		t.Errorf("exit %d, stdout:\n%s", got.code, got.stdout)
	}
}
