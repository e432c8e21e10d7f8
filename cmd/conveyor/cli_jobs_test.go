package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		name, job, want string
	}{
		{
			name: "succeeded",
			job: `{"id":"j1","algorithm":"is_prime","status":"succeeded","input":{"n":7},"output":{"prime":true,"factors":[]},
				"attempt":1,"max_attempts":3,"priority":"normal","labels":{"team":"x","env":"prod"},"runner":"r1",
				"created_at":"2025-06-01T11:59:00Z","started_at":"2025-06-01T11:59:00.25Z","finished_at":"2025-06-01T11:59:02.55Z",
				"artifacts":[{"name":"model.bin","file":"F1","size":3145728,"sha256":"ab","content_type":"application/octet-stream"},
				{"name":"notes.txt","file":"F2","size":12,"sha256":"cd","content_type":"text/plain"}]}`,
			want: `ID:         j1
Algorithm:  is_prime
Status:     succeeded
Attempt:    1/3
Labels:     env=prod, team=x
Runner:     r1
Created:    2025-06-01 11:59:00
Started:    2025-06-01 11:59:00 (queued 250ms)
Finished:   2025-06-01 11:59:02 (ran 2.3s)
Artifacts:  model.bin (3.0 MiB)
            notes.txt (12 B)
Output:
  {
    "prime": true,
    "factors": []
  }
`,
		},
		{
			name: "failed",
			job: `{"id":"j2","algorithm":"report","status":"failed","input":{},"attempt":3,"max_attempts":3,"priority":"low",
				"timeout":"2h0m0s","mutex":"nightly","idempotency_key":"k1",
				"error":{"type":"max_attempts","message":"all 3 attempts failed; last: exit status 1","detail":"Traceback:\n  boom\n"},
				"created_at":"2025-06-01T10:00:00Z","started_at":"2025-06-01T10:00:01Z","finished_at":"2025-06-01T11:01:31Z"}`,
			want: `ID:               j2
Algorithm:        report
Status:           failed
Attempt:          3/3
Priority:         low
Timeout:          2h
Mutex:            nightly
Idempotency key:  k1
Created:          2025-06-01 10:00:00
Started:          2025-06-01 10:00:01 (queued 1s)
Finished:         2025-06-01 11:01:31 (ran 1h2m)
Error:            max_attempts: all 3 attempts failed; last: exit status 1
Detail:
  Traceback:
    boom
`,
		},
		{
			name: "running",
			job: `{"id":"j3","algorithm":"train","status":"running","input":{},"attempt":2,"max_attempts":3,"priority":"high",
				"progress":{"percent":42.5,"message":"epoch 3/10"},"runner":"r2",
				"created_at":"2025-06-01T11:00:00Z","started_at":"2025-06-01T11:58:30Z"}`,
			want: `ID:           j3
Algorithm:    train
Status:       running
Attempt:      2/3
Progress:     42.5% epoch 3/10
Priority:     high
Runner:       r2
Created:      2025-06-01 11:00:00
Started:      2025-06-01 11:58:30 (queued 58m30s)
Running for:  1m30s
`,
		},
		{
			name: "queued for retry",
			job: `{"id":"j4","algorithm":"a","status":"queued","input":{},"attempt":1,"max_attempts":3,
				"error":{"type":"crashed","message":"runner died"},
				"created_at":"2025-06-01T11:00:00Z","started_at":"2025-06-01T11:00:00Z","retry_at":"2025-06-01T12:00:10Z"}`,
			want: `ID:         j4
Algorithm:  a
Status:     queued
Attempt:    1/3
Created:    2025-06-01 11:00:00
Started:    2025-06-01 11:00:00 (queued 0s)
Retry at:   2025-06-01 12:00:10
Error:      crashed: runner died
`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/{id}": reply(200, tt.job)})
			got := runCLI(t, f, "status", "j1")
			if got.code != 0 || got.stderr != "" {
				t.Errorf("exit %d, stderr %q", got.code, got.stderr)
			}
			if got.stdout != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", got.stdout, tt.want)
			}
		})
	}
}

func TestStatusNotFound(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/jobs/{id}": problem(404, `{"title":"Not Found","status":404,"code":"not_found","detail":"no job \"j/9\""}`),
	})
	got := runCLI(t, f, "status", "j/9")
	if got.code != 1 || got.stderr != "conveyor: no job \"j/9\"\n" {
		t.Errorf("exit %d, stderr %q", got.code, got.stderr)
	}
	if r := f.requests()[0]; r.Path != "/v1/jobs/j%2F9" {
		t.Errorf("path %q, want the id escaped", r.Path)
	}
}

func TestCancel(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/jobs/j1/cancel": reply(200, `{"id":"j1","status":"canceled","attempt":0,"max_attempts":3,"error":{"type":"canceled","message":"canceled by request"}}`),
		"POST /v1/jobs/j2/cancel": problem(409, `{"title":"Conflict","status":409,"code":"conflict","detail":"job is already succeeded"}`),
	})
	got := runCLI(t, f, "cancel", "j1")
	if got.code != 0 || !strings.Contains(got.stdout, "Status:     canceled\n") {
		t.Errorf("cancel j1: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	got = runCLI(t, f, "cancel", "j2")
	if got.code != 1 || got.stderr != "conveyor: job is already succeeded\n" {
		t.Errorf("cancel j2: exit %d, stderr %q", got.code, got.stderr)
	}
}

func TestJobs(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/jobs": reply(200, `{"jobs":[
			{"id":"j3","algorithm":"train","status":"running","attempt":1,"max_attempts":3,"progress":{"percent":10},
			 "created_at":"2025-06-01T11:59:00Z","started_at":"2025-06-01T11:59:30Z"},
			{"id":"j2","algorithm":"is_prime","status":"succeeded","attempt":1,"max_attempts":3,
			 "created_at":"2025-06-01T11:58:00Z","started_at":"2025-06-01T11:58:00Z","finished_at":"2025-06-01T11:58:00.012Z","labels":{"team":"ml"}},
			{"id":"j1","algorithm":"is_prime","status":"queued","attempt":0,"max_attempts":1,"created_at":"2025-06-01T11:57:00Z"}
		],"next_cursor":"c2"}`),
	})
	got := runCLI(t, f, "jobs", "--algorithm", "is_prime", "--status", "succeeded", "--limit", "3", "--cursor", "c1")
	want := `ID  ALGORITHM  STATUS     ATTEMPT  PROGRESS  CREATED              DURATION  LABELS
j3  train      running    1/3      10%       2025-06-01 11:59:00  30s       -
j2  is_prime   succeeded  1/3      -         2025-06-01 11:58:00  12ms      team=ml
j1  is_prime   queued     0/1      -         2025-06-01 11:57:00  -         -
`
	if got.code != 0 || got.stdout != want || got.stderr != "more: --cursor c2\n" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", got.code, got.stdout, want, got.stderr)
	}
	if q := f.requests()[0].Query; q != "algorithm=is_prime&cursor=c1&limit=3&status=succeeded" {
		t.Errorf("query %q", q)
	}
}

func TestJobsEmpty(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs": reply(200, `{"jobs":[]}`)})
	if got := runCLI(t, f, "jobs"); got.code != 0 || got.stdout != "No jobs.\n" || got.stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if got := runCLI(t, f, "jobs", "--json"); got.code != 0 || got.stdout != "{\n  \"jobs\": []\n}\n" {
		t.Errorf("--json: exit %d, stdout %q", got.code, got.stdout)
	}
}

const logsBody = `{"logs":[
	{"ts":"2025-06-01T11:59:00.1Z","stream":"stdout","line":"loading","attempt":1},
	{"ts":"2025-06-01T11:59:01.25Z","stream":"log","line":"epoch 1","attempt":2}]}`

func TestLogs(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/j1/logs": reply(200, logsBody)})
	got := runCLI(t, f, "logs", "j1")
	want := "11:59:00.100 stdout loading\n11:59:01.250 log#2  epoch 1\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d, stdout %q, want %q; stderr %q", got.code, got.stdout, want, got.stderr)
	}
}

func TestLogsFollow(t *testing.T) {
	stream := "id: 1.0\nevent: status\ndata: {\"id\":\"j1\",\"status\":\"running\"}\n\n" +
		": keep-alive\n\n" +
		"id: 1.1\nevent: log\ndata: {\"ts\":\"2025-06-01T11:59:00Z\",\"stream\":\"stdout\",\"line\":\"one\"}\n\n" +
		"id: 1.2\nevent: log\ndata: {\"ts\":\"2025-06-01T11:59:01Z\",\"stream\":\"stderr\",\"line\":\"two\"}\n\n" +
		"id: 2.2\nevent: end\ndata: {\"id\":\"j1\",\"status\":\"succeeded\"}\n\n" +
		"id: 2.3\nevent: log\ndata: {\"ts\":\"2025-06-01T11:59:02Z\",\"stream\":\"stdout\",\"line\":\"never\"}\n\n"
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/jobs/j1/events": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte(stream))
		},
	})
	got := runCLI(t, f, "logs", "-f", "j1")
	want := "11:59:00.000 stdout one\n11:59:01.000 stderr two\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("exit %d, stdout %q, want %q; stderr %q", got.code, got.stdout, want, got.stderr)
	}

	got = runCLI(t, f, "logs", "--follow", "--json", "j1")
	want = `{"ts":"2025-06-01T11:59:00Z","stream":"stdout","line":"one"}` + "\n" +
		`{"ts":"2025-06-01T11:59:01Z","stream":"stderr","line":"two"}` + "\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("--json: exit %d, stdout %q, want %q", got.code, got.stdout, want)
	}
}

func TestLogsFollowInterrupted(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/jobs/j1/events": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
	})
	e, _, stderr := testEnv(f.url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if code := run(ctx, []string{"logs", "-f", "j1"}, e); code != exitInterrupted || stderr.String() != "conveyor: interrupted\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
