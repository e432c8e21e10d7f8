package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestRetry(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/jobs/j1/retry": reply(202, `{"id":"j2","algorithm":"is_prime","status":"queued","attempt":0,"max_attempts":3,"retry_of":"j1","created_at":"2025-06-01T12:00:00Z"}`),
		"POST /v1/jobs/j3/retry": problem(409, `{"title":"Conflict","status":409,"code":"conflict","detail":"job j3 is running: only a finished job can be retried"}`),
		"POST /v1/jobs/retry":    reply(200, `{"count":12}`),
	})
	got := runCLI(t, f, "retry", "j1")
	if got.code != 0 || !strings.Contains(got.stdout, "ID:         j2\n") || !strings.Contains(got.stdout, "Retry of:   j1\n") {
		t.Errorf("retry j1: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	got = runCLI(t, f, "retry", "j3")
	if got.code != 1 || !strings.Contains(got.stderr, "only a finished job can be retried") {
		t.Errorf("retry j3: exit %d, stderr %q", got.code, got.stderr)
	}
	got = runCLI(t, f, "retry", "--failed", "--algorithm", "resize", "--since", "2025-06-01T11:00:00Z", "--label", "team=ml")
	if got.code != 0 || got.stdout != "Retried 12 jobs.\n" {
		t.Errorf("bulk retry: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if body := f.requests()[2].Body; body != `{"algorithm":"resize","status":["failed"],"labels":{"team":"ml"},"created_after":"2025-06-01T11:00:00Z"}` {
		t.Errorf("bulk retry body %s", body)
	}
	got = runCLI(t, f, "retry", "--algorithm", "resize", "--json")
	if got.code != 0 || got.stdout != "{\n  \"count\": 12\n}\n" {
		t.Errorf("bulk retry --json: exit %d, stdout %q", got.code, got.stdout)
	}
	for _, args := range [][]string{{"retry"}, {"retry", "j1", "--failed"}, {"retry", "--status", "done"}, {"retry", "--since", "soon"}} {
		if got := runCLI(t, f, args...); got.code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %q", args, got.code, exitUsage, got.stderr)
		}
	}
	if n := len(f.requests()); n != 4 {
		t.Errorf("%d requests, want 4 (none for the usage errors)", n)
	}
}

func TestCancelMatching(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/jobs/cancel": reply(200, `{"count":1}`)})
	got := runCLI(t, f, "cancel", "--algorithm", "resize", "--status", "queued")
	if got.code != 0 || got.stdout != "Canceled 1 job.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if body := f.requests()[0].Body; body != `{"algorithm":"resize","status":["queued"]}` {
		t.Errorf("body %s", body)
	}
	if got := runCLI(t, f, "cancel"); got.code != exitUsage {
		t.Errorf("cancel alone: exit %d, want %d", got.code, exitUsage)
	}
}

func TestRm(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"DELETE /v1/jobs/j1": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
		"DELETE /v1/jobs/j2": problem(409, `{"title":"Conflict","status":409,"code":"conflict","detail":"job j2 is running: only a finished job can be deleted (cancel it first)"}`),
	})
	got := runCLI(t, f, "rm", "j1")
	if got.code != 0 || got.stdout != "Deleted j1\n" {
		t.Errorf("rm j1: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	got = runCLI(t, f, "rm", "j1", "j2")
	if got.code != 1 || !strings.Contains(got.stderr, "j2: job j2 is running") {
		t.Errorf("rm j1 j2: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if got := runCLI(t, f, "rm"); got.code != exitUsage {
		t.Errorf("rm alone: exit %d, want %d", got.code, exitUsage)
	}
}
