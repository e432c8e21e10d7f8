package main

import (
	"net/http"
	"strings"
	"testing"
)

const tickJSON = `{"name":"tick","algorithm":"is_prime","input":{"n":7},"every":"5m0s","overlap":"skip","paused":false,"source":"api",
"created_at":"2025-06-01T12:00:00Z","next_at":"2025-06-01T12:05:00Z","last_at":"2025-06-01T12:00:00Z","last_job":"j9","fired":3,"skipped":1}`

func TestSchedules(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/schedules":      reply(200, `{"schedules":[`+tickJSON+`]}`),
		"GET /v1/schedules/tick": reply(200, tickJSON),
		"GET /v1/schedules/nope": problem(404, `{"title":"Not Found","status":404,"code":"not_found","detail":"schedule \"nope\" not found"}`),
	})
	got := runCLI(t, f, "schedules")
	if got.code != 0 || !strings.Contains(got.stdout, "NAME") || !strings.Contains(got.stdout, "every 5m0s") || !strings.Contains(got.stdout, "j9") {
		t.Errorf("schedules: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	got = runCLI(t, f, "schedules", "tick")
	if got.code != 0 || !strings.Contains(got.stdout, "Last job:   j9") || !strings.Contains(got.stdout, "Fired:      3 (skipped 1)") {
		t.Errorf("schedules tick: exit %d, stdout %q", got.code, got.stdout)
	}
	if got := runCLI(t, f, "schedules", "nope"); got.code != 1 || !strings.Contains(got.stderr, "not found") {
		t.Errorf("schedules nope: exit %d, stderr %q", got.code, got.stderr)
	}
}

func TestScheduleCommand(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/schedules":              reply(201, tickJSON),
		"DELETE /v1/schedules/tick":       func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
		"POST /v1/schedules/tick/pause":   reply(200, strings.Replace(tickJSON, `"paused":false`, `"paused":true`, 1)),
		"POST /v1/schedules/tick/trigger": reply(202, `{"id":"j10","algorithm":"is_prime","status":"queued","attempt":0,"max_attempts":3,"created_at":"2025-06-01T12:00:00Z"}`),
	})
	got := runCLI(t, f, "schedule", "add", "tick", "is_prime", "--every", "5m", "--data", `{"n":7}`, "--label", "team=ml")
	if got.code != 0 || !strings.Contains(got.stdout, "Name:       tick") {
		t.Errorf("add: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if body := f.requests()[0].Body; body != `{"name":"tick","algorithm":"is_prime","input":{"n":7},"every":"5m0s","labels":{"team":"ml"},"overlap":"skip","paused":false,"source":"","created_at":"0001-01-01T00:00:00Z","fired":0,"skipped":0}` {
		t.Errorf("add body %s", body)
	}
	if got := runCLI(t, f, "schedule", "pause", "tick"); got.code != 0 || !strings.Contains(got.stdout, "Next:       paused") {
		t.Errorf("pause: exit %d, stdout %q", got.code, got.stdout)
	}
	if got := runCLI(t, f, "schedule", "trigger", "tick"); got.code != 0 || got.stdout != "j10\n" {
		t.Errorf("trigger: exit %d, stdout %q", got.code, got.stdout)
	}
	if got := runCLI(t, f, "schedule", "rm", "tick"); got.code != 0 || got.stdout != "Deleted schedule tick\n" {
		t.Errorf("rm: exit %d, stdout %q", got.code, got.stdout)
	}
	n := len(f.requests())
	for _, args := range [][]string{
		{"schedule"}, {"schedule", "explode", "tick"}, {"schedule", "add", "tick"},
		{"schedule", "add", "tick", "is_prime"}, {"schedule", "add", "tick", "is_prime", "--cron", "61 * * * *"},
		{"schedule", "add", "tick", "is_prime", "--every", "1m", "--overlap", "maybe"},
	} {
		if got := runCLI(t, f, args...); got.code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %q", args, got.code, exitUsage, got.stderr)
		}
	}
	if m := len(f.requests()); m != n {
		t.Errorf("usage errors sent %d requests", m-n)
	}
}
