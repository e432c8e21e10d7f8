package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

func TestJobRequests(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		call   func(c *Client) (any, error)
		body   string // the server's answer
		want   request
		result any
	}{
		{
			name: "Submit",
			call: func(c *Client) (any, error) {
				return c.Submit(ctx, conveyor.SubmitRequest{
					Algorithm:      "is_prime",
					Input:          json.RawMessage(`{"n": 7}`),
					Priority:       conveyor.PriorityHigh,
					IdempotencyKey: "k1",
					Timeout:        conveyor.Duration(90 * time.Second),
					MaxAttempts:    2,
					Labels:         map[string]string{"team": "x"},
				})
			},
			body:   `{"id":"j1","algorithm":"is_prime","status":"queued"}`,
			want:   request{Method: "POST", Path: "/v1/jobs", Body: `{"algorithm":"is_prime","input":{"n":7},"priority":"high","idempotency_key":"k1","timeout":"1m30s","max_attempts":2,"labels":{"team":"x"}}`},
			result: &conveyor.Job{ID: "j1", Algorithm: "is_prime", Status: conveyor.StatusQueued},
		},
		{
			name: "Submit nil input and wait",
			call: func(c *Client) (any, error) {
				return c.Submit(ctx, conveyor.SubmitRequest{Algorithm: "a"}, Wait(10*time.Second))
			},
			body:   `{"id":"j1","status":"succeeded","output":{"ok":true}}`,
			want:   request{Method: "POST", Path: "/v1/jobs", Query: "wait=10s", Body: `{"algorithm":"a","input":{}}`},
			result: &conveyor.Job{ID: "j1", Status: conveyor.StatusSucceeded, Output: json.RawMessage(`{"ok":true}`)},
		},
		{
			name:   "Get",
			call:   func(c *Client) (any, error) { return c.Get(ctx, "01J/x y") },
			body:   `{"id":"01J/x y","status":"running","progress":{"percent":40,"message":"m"}}`,
			want:   request{Method: "GET", Path: "/v1/jobs/01J%2Fx%20y"},
			result: &conveyor.Job{ID: "01J/x y", Status: conveyor.StatusRunning, Progress: &conveyor.Progress{Percent: 40, Message: "m"}},
		},
		{
			name:   "Cancel",
			call:   func(c *Client) (any, error) { return c.Cancel(ctx, "j1") },
			body:   `{"id":"j1","status":"canceled","error":{"type":"canceled","message":"canceled by request"}}`,
			want:   request{Method: "POST", Path: "/v1/jobs/j1/cancel"},
			result: &conveyor.Job{ID: "j1", Status: conveyor.StatusCanceled, Error: &conveyor.JobError{Type: "canceled", Message: "canceled by request"}},
		},
		{
			name:   "Logs",
			call:   func(c *Client) (any, error) { return c.Logs(ctx, "j1") },
			body:   `{"logs":[{"ts":"2025-01-02T03:04:05Z","stream":"stdout","line":"hi","attempt":1}]}`,
			want:   request{Method: "GET", Path: "/v1/jobs/j1/logs"},
			result: &conveyor.LogList{Logs: []conveyor.LogLine{{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Stream: "stdout", Line: "hi", Attempt: 1}}},
		},
		{
			name:   "List",
			call:   func(c *Client) (any, error) { return c.List(ctx, ListOptions{}) },
			body:   `{"jobs":[{"id":"j2"},{"id":"j1"}],"next_cursor":"c2"}`,
			want:   request{Method: "GET", Path: "/v1/jobs"},
			result: &conveyor.JobPage{Jobs: []*conveyor.JobSummary{{ID: "j2"}, {ID: "j1"}}, NextCursor: "c2"},
		},
		{
			name: "List filtered",
			call: func(c *Client) (any, error) {
				return c.List(ctx, ListOptions{Algorithm: "a b", Status: conveyor.StatusFailed, Statuses: []conveyor.Status{conveyor.StatusCanceled},
					Labels: map[string]string{"team": "ml", "batch": "7"}, CreatedAfter: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
					Oldest: true, Include: []string{"input"}, Limit: 5, Cursor: "c&1"})
			},
			body:   `{"jobs":[]}`,
			want:   request{Method: "GET", Path: "/v1/jobs", Query: "algorithm=a+b&created_after=2026-12-01T00%3A00%3A00Z&cursor=c%261&include=input&label=batch%3D7&label=team%3Dml&limit=5&order=oldest&status=failed%2Ccanceled"},
			result: &conveyor.JobPage{Jobs: []*conveyor.JobSummary{}},
		},
		{
			name:   "RetryJob",
			call:   func(c *Client) (any, error) { return c.RetryJob(ctx, "j1") },
			body:   `{"id":"j2","status":"queued","retry_of":"j1"}`,
			want:   request{Method: "POST", Path: "/v1/jobs/j1/retry", Body: `{}`},
			result: &conveyor.Job{ID: "j2", Status: conveyor.StatusQueued, RetryOf: "j1"},
		},
		{
			name: "RetryMatching",
			call: func(c *Client) (any, error) {
				after := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
				return c.RetryMatching(ctx, conveyor.JobFilter{Algorithm: "a", Status: []conveyor.Status{conveyor.StatusFailed},
					Labels: map[string]string{"team": "ml"}, CreatedAfter: &after})
			},
			body:   `{"count":3}`,
			want:   request{Method: "POST", Path: "/v1/jobs/retry", Body: `{"algorithm":"a","status":["failed"],"labels":{"team":"ml"},"created_after":"2026-12-01T00:00:00Z"}`},
			result: 3,
		},
		{
			name:   "CancelMatching",
			call:   func(c *Client) (any, error) { return c.CancelMatching(ctx, conveyor.JobFilter{Algorithm: "a"}) },
			body:   `{"count":0}`,
			want:   request{Method: "POST", Path: "/v1/jobs/cancel", Body: `{"algorithm":"a"}`},
			result: 0,
		},
		{
			name:   "DeleteJob",
			call:   func(c *Client) (any, error) { return nil, c.DeleteJob(ctx, "j1") },
			body:   ``,
			want:   request{Method: "DELETE", Path: "/v1/jobs/j1"},
			result: nil,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := serve(t, reply(200, tt.body))
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			r := reqs.all()[0]
			r.Header = nil
			if !reflect.DeepEqual(r, tt.want) {
				t.Errorf("request\n got %+v\nwant %+v", r, tt.want)
			}
			if !reflect.DeepEqual(got, tt.result) {
				t.Errorf("result\n got %+v\nwant %+v", got, tt.result)
			}
		})
	}
}

func TestMissingJobID(t *testing.T) {
	c, reqs := serve(t, reply(200, `{}`))
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := c.Get(ctx, ""); return err },
		"Cancel": func() error { _, err := c.Cancel(ctx, ""); return err },
		"Logs":   func() error { _, err := c.Logs(ctx, ""); return err },
		"Retry":  func() error { _, err := c.RetryJob(ctx, ""); return err },
		"Delete": func() error { return c.DeleteJob(ctx, "") },
		"Wait":   func() error { _, err := c.Wait(ctx, "", time.Second); return err },
	} {
		if err := call(); conveyor.ErrorCode(err) != conveyor.EINVALID {
			t.Errorf("%s with an empty id: %v, want an invalid error", name, err)
		}
	}
	if len(reqs.all()) != 0 {
		t.Errorf("sent %d requests, want none", len(reqs.all()))
	}
}

func TestSubmitInvalidInput(t *testing.T) {
	c, reqs := serve(t, reply(200, `{}`))
	_, err := c.Submit(context.Background(), conveyor.SubmitRequest{Algorithm: "a", Input: json.RawMessage(`{bad`)})
	if conveyor.ErrorCode(err) != conveyor.EINVALID {
		t.Errorf("Submit with malformed input: %v, want an invalid error", err)
	}
	if len(reqs.all()) != 0 {
		t.Errorf("sent %d requests, want none", len(reqs.all()))
	}
}

func TestErrorResponses(t *testing.T) {
	for _, tt := range []struct {
		name       string
		status     int
		ct, body   string
		header     map[string]string
		code, msg  string
		details    []conveyor.Violation
		retryAfter time.Duration
	}{
		{
			name:   "schema violations",
			status: 400, ct: "application/problem+json",
			body: `{"type":"about:blank","title":"Bad Request","status":400,"detail":"input violates the schema of is_prime","code":"invalid",
				"errors":[{"pointer":"/n","message":"minimum: got -1, want 0"},{"pointer":"","message":"missing property \"m\""}]}`,
			code: conveyor.EINVALID, msg: "input violates the schema of is_prime",
			details: []conveyor.Violation{{Pointer: "/n", Message: "minimum: got -1, want 0"}, {Pointer: "", Message: `missing property "m"`}},
		},
		{
			name:   "code from problem wins",
			status: 400, ct: "application/problem+json",
			body: `{"title":"Bad Request","status":400,"detail":"no such feature","code":"unsupported"}`,
			code: conveyor.EUNSUPPORTED, msg: "no such feature",
		},
		{
			name:   "code from status",
			status: 404, ct: "application/problem+json",
			body: `{"title":"Not Found","status":404,"detail":"no job j9"}`,
			code: conveyor.ENOTFOUND, msg: "no job j9",
		},
		{
			name:   "title without detail",
			status: 409, ct: "application/problem+json",
			body: `{"title":"Conflict","status":409}`,
			code: conveyor.ECONFLICT, msg: "Conflict",
		},
		{
			name:   "queue full",
			status: 429, ct: "application/problem+json",
			body:   `{"title":"Too Many Requests","status":429,"detail":"queue of a is full","code":"unavailable"}`,
			header: map[string]string{"Retry-After": "7"},
			code:   conveyor.EUNAVAILABLE, msg: "queue of a is full", retryAfter: 7 * time.Second,
		},
		{
			name:   "too large",
			status: 413, ct: "application/problem+json", body: `{"status":413}`,
			code: conveyor.ETOOLARGE, msg: "413 Request Entity Too Large",
		},
		{
			name:   "proxy error page",
			status: 502, ct: "text/html",
			body: "\n<html><body>upstream down</body></html>\n",
			code: conveyor.EUNAVAILABLE, msg: "502 Bad Gateway: <html><body>upstream down</body></html>",
		},
		{
			name:   "sync timeout",
			status: 504, ct: "text/plain", body: "",
			code: conveyor.ETIMEOUT, msg: "504 Gateway Timeout",
		},
		{
			name:   "server error",
			status: 500, ct: "application/json", body: `{"unexpected":true}`,
			code: conveyor.EINTERNAL, msg: "500 Internal Server Error",
		},
		{
			name:   "unknown 4xx",
			status: 418, ct: "text/plain", body: "teapot",
			code: conveyor.EINVALID, msg: "418 I'm a teapot: teapot",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			_, err := c.Get(context.Background(), "j1")
			if code := conveyor.ErrorCode(err); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
			if err == nil || err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err, tt.msg)
			}
			var ce *conveyor.Error
			if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Details, tt.details) {
				t.Errorf("details %+v, want %+v", ce, tt.details)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *APIError", err)
			}
			if ae.StatusCode != tt.status || ae.RetryAfter != tt.retryAfter {
				t.Errorf("APIError status %d, retry after %v; want %d, %v", ae.StatusCode, ae.RetryAfter, tt.status, tt.retryAfter)
			}
			if strings.HasPrefix(tt.ct, "application/problem") && ae.Problem.Status != tt.status {
				t.Errorf("APIError.Problem = %+v, want the decoded problem", ae.Problem)
			}
		})
	}
}

func TestListAll(t *testing.T) {
	pages := map[string]string{
		"":   `{"jobs":[{"id":"j5"},{"id":"j4"}],"next_cursor":"c1"}`,
		"c1": `{"jobs":[{"id":"j3"},{"id":"j2"}],"next_cursor":"c2"}`,
		"c2": `{"jobs":[{"id":"j1"}]}`,
	}
	c, reqs := serve(t, func(w http.ResponseWriter, r *http.Request) {
		reply(200, pages[r.URL.Query().Get("cursor")])(w, r)
	})
	var ids []string
	for job, err := range c.ListAll(context.Background(), ListOptions{Status: conveyor.StatusSucceeded, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	if got := strings.Join(ids, ","); got != "j5,j4,j3,j2,j1" {
		t.Errorf("ListAll yielded %s", got)
	}
	if len(reqs.all()) != 3 || reqs.all()[2].Query != "cursor=c2&limit=2&status=succeeded" {
		t.Errorf("requests %+v", reqs.all())
	}

	// Breaking out early fetches no more pages.
	reqs.reset()
	for range c.ListAll(context.Background(), ListOptions{}) {
		break
	}
	if len(reqs.all()) != 1 {
		t.Errorf("break after the first job: %d requests, want 1", len(reqs.all()))
	}
}

func TestListAllError(t *testing.T) {
	c, _ := serve(t, reply(400, `{"detail":"bad cursor","code":"invalid"}`))
	n := 0
	for job, err := range c.ListAll(context.Background(), ListOptions{Cursor: "x"}) {
		n++
		if job != nil || conveyor.ErrorCode(err) != conveyor.EINVALID {
			t.Errorf("yielded %v, %v; want nil and an invalid error", job, err)
		}
	}
	if n != 1 {
		t.Errorf("yielded %d times, want 1", n)
	}
}

func TestListAllRepeatedCursor(t *testing.T) {
	c, reqs := serve(t, reply(200, `{"jobs":[{"id":"j1"}],"next_cursor":"same"}`))
	for _, err := range c.ListAll(context.Background(), ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(reqs.all()) != 2 {
		t.Errorf("%d requests, want 2 (stop when the cursor repeats)", len(reqs.all()))
	}
}
