package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
)

func TestCall(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string // the body for 200, the problem code otherwise
	}{
		{"post", "POST", "/v1/algorithms/is_prime/run", `{"n": 32416190071}`, 200, `{"n":32416190071,"prime":true}`},
		{"get from the query", "GET", "/v1/algorithms/is_prime/run?n=32416190071", "", 200, `{"n":32416190071,"prime":true}`},
		{"exec kind", "POST", "/v1/algorithms/wordcount/run", `{"text": "a b c"}`, 200, `{"words":3}`},
		{"not a number", "GET", "/v1/algorithms/is_prime/run?n=seven", "", 400, conveyor.EINVALID},
		{"schema violation", "POST", "/v1/algorithms/is_prime/run", `{"n": -1}`, 400, conveyor.EINVALID},
		{"unknown algorithm", "POST", "/v1/algorithms/nope/run", `{}`, 404, conveyor.ENOTFOUND},
		{"algorithm fails", "POST", "/v1/algorithms/sleep/run", `{"seconds": 0, "fail": "no luck"}`, 422, conveyor.EFAILED},
		{"past the timeout", "POST", "/v1/algorithms/sleep/run?timeout=200ms", `{"seconds": 30}`, 504, conveyor.ETIMEOUT},
		{"bad timeout", "POST", "/v1/algorithms/sleep/run?timeout=soon", `{"seconds": 0}`, 400, conveyor.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			resp := s.do(tc.method, tc.path, body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 200 {
				var got bytes.Buffer
				if err := json.Compact(&got, []byte(readAll(t, resp))); err != nil || got.String() != tc.want {
					t.Fatalf("body %q (%v), want %q", got.String(), err, tc.want)
				}
				return
			}
			p := problem(t, resp)
			if p.Code != tc.want {
				t.Fatalf("problem %+v, want code %s", p, tc.want)
			}
			if tc.status == 422 && (p.Error == nil || p.Error.Message != "no luck") {
				t.Fatalf("422 without the algorithm's error: %+v", p)
			}
		})
	}
	// Calls leave no jobs behind.
	var list conveyor.JobPage
	s.do("GET", "/v1/jobs", nil, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("calls stored %d jobs", len(list.Jobs))
	}
	// With no runner left, a call is refused at once.
	s.app.Runner().Stop()
	resp := s.do("POST", "/v1/algorithms/is_prime/run", `{"n": 7}`, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || problem(t, resp).Code != conveyor.EUNAVAILABLE {
		t.Fatalf("no runner: status %d", resp.StatusCode)
	}
}
