package app

import (
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestInvalidUTF8 checks that a string that is not valid UTF-8, in an
// input or anywhere in a request, is refused with 400 and its JSON
// pointer on every route that takes one — submit, submit of the input
// alone, batch, the synchronous call — and nothing is stored: stored, it
// would be echoed raw to every reader of the job.
func TestInvalidUTF8(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, tc := range []struct {
		name, method, path, body, pointer string
	}{
		{"submit", "POST", "/v1/jobs", "{\"algorithm\":\"wordcount\",\"input\":{\"text\":\"\xff\xfe\"}}", "/input/text"},
		{"submit, a key", "POST", "/v1/jobs", "{\"algorithm\":\"wordcount\",\"input\":{\"text\":\"a\",\"\xffk\":1}}", "/input/\uFFFDk"},
		{"submit, a label", "POST", "/v1/jobs", "{\"algorithm\":\"wordcount\",\"input\":{\"text\":\"a\"},\"labels\":{\"team\":\"caf\xe9\"}}", "/labels/team"},
		{"submit, the idempotency key", "POST", "/v1/jobs", "{\"algorithm\":\"wordcount\",\"input\":{\"text\":\"a\"},\"idempotency_key\":\"k\xc3\"}", "/idempotency_key"},
		{"input alone", "POST", "/v1/algorithms/wordcount/jobs", "{\"text\":\"ok \xc3\x28\"}", "/text"},
		{"batch", "POST", "/v1/jobs/batch", "{\"jobs\":[{\"algorithm\":\"is_prime\",\"input\":{\"n\":7}},{\"algorithm\":\"wordcount\",\"input\":{\"text\":\"a\",\"extra\":[\"a\",\"\x80\"]}}]}", "/jobs/1/input/extra/1"},
		{"synchronous call", "POST", "/v1/algorithms/wordcount/run", "{\"text\":\"\xed\xa0\x80\"}", "/text"},
		{"synchronous call, query", "GET", "/v1/algorithms/wordcount/run?text=%FF", "", ""},
		{"input alone, mutex in the query", "POST", "/v1/algorithms/wordcount/jobs?mutex=%FE", `{"text":"a"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			resp := s.do(tc.method, tc.path, body, nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, readAll(t, resp))
			}
			p := problem(t, resp)
			if p.Code != conveyor.EINVALID {
				t.Fatalf("problem %+v", p)
			}
			if tc.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != tc.pointer) {
				t.Fatalf("violations %+v, want one at %q", p.Errors, tc.pointer)
			}
		})
	}
	if ids := s.listed(); len(ids) != 0 {
		t.Errorf("%d jobs stored", len(ids))
	}
	// Valid UTF-8 of every plane goes through as sent.
	j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": "café 日本 🚀"}}, "?wait=30s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || string(j.Input) != `{"text":"café 日本 🚀"}` {
		t.Fatalf("valid UTF-8: %s %s", j.Status, j.Input)
	}
}
