package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// The HTTP API's answers to bad input, tested here against a gateway over
// a real embedded broker, with no runner: nothing of them needs one.

// register announces algorithm a as a runner would, and waits for the
// gateway to know it.
func (s *fileServer) register(a conveyor.Algorithm) {
	s.t.Helper()
	if err := s.b.RegisterAlgorithm(s.t.Context(), a, "runner-1"); err != nil {
		s.t.Fatal(err)
	}
	testenv.Eventually(s.t, "the gateway to know "+a.Name, func() bool {
		resp, _ := s.request("GET", "/v1/algorithms/"+a.Name, nil, nil)
		return resp.StatusCode == http.StatusOK
	})
}

// badSubmit is a submit the API refuses with a 400 whose first violation
// points at pointer.
type badSubmit struct{ path, body, pointer string }

// refuses checks that each submit is a 400 pointing at its field, and
// that none stored a job.
func (s *fileServer) refuses(cases []badSubmit) {
	s.t.Helper()
	header := map[string]string{"Content-Type": "application/json"}
	for _, c := range cases {
		resp, body := s.request("POST", c.path, strings.NewReader(c.body), header)
		var p conveyor.Problem
		if err := json.Unmarshal(body, &p); resp.StatusCode != http.StatusBadRequest || err != nil || len(p.Errors) == 0 || p.Errors[0].Pointer != c.pointer {
			s.t.Errorf("%s %s: %d %s, want 400 with a pointer at %s", c.path, c.body, resp.StatusCode, body, c.pointer)
		}
	}
	if resp, body := s.request("GET", "/v1/jobs", nil, nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"jobs":[]`) {
		s.t.Errorf("refused submits stored jobs: %s", body)
	}
}

var isPrime = conveyor.Algorithm{Name: "is_prime", Kind: "go", InputSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)}

// TestRequiresBadInput: malformed requirements are a 400 naming the field
// (in a batch, the job), and nothing is stored.
func TestRequiresBadInput(t *testing.T) {
	s := startFileServer(t, Config{})
	s.register(isPrime)
	s.refuses([]badSubmit{
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"a=b":"c"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"":"c"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"model":"a,b"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"model":"` + strings.Repeat("x", 130) + `"}}`, "/requires"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"requires":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9"}}`, "/requires"},
		{"/v1/jobs/batch", `{"jobs":[{"algorithm":"is_prime","input":{"n":7}},{"algorithm":"is_prime","input":{"n":7},"requires":{"x":"\u0001"}}]}`, "/jobs/1/requires"},
		{"/v1/algorithms/is_prime/jobs?requires=model", `{"n":7}`, "/requires"},
		{"/v1/algorithms/is_prime/jobs?requires=model=a,model=b", `{"n":7}`, "/requires"},
	})
}

// TestDelayedBadInput: malformed or out-of-range delays and times are 400s
// that point at the field, and store nothing.
func TestDelayedBadInput(t *testing.T) {
	s := startFileServer(t, Config{})
	s.register(isPrime)
	far := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	s.refuses([]badSubmit{
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"delay":"soon"}`, "/delay"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"run_at":"tomorrow"}`, "/run_at"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"delay":"-5s"}`, "/delay"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"delay":"5s","run_at":"` + far + `"}`, "/delay"},
		{"/v1/jobs", `{"algorithm":"is_prime","input":{"n":7},"run_at":"` + far + `"}`, "/run_at"},
		{"/v1/jobs/batch", `{"jobs":[{"algorithm":"is_prime","input":{"n":7}},{"algorithm":"is_prime","input":{"n":7},"delay":"x"}]}`, "/jobs/1/delay"},
		{"/v1/jobs/batch", `{"jobs":[{"algorithm":"is_prime","input":{"n":7}},{"algorithm":"is_prime","input":{"n":7},"run_at":"` + far + `"}]}`, "/jobs/1/run_at"},
	})
	resp, body := s.request("POST", "/v1/algorithms/is_prime/jobs?delay=soon", strings.NewReader(`{"n":7}`), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "delay") {
		t.Errorf("?delay=soon: %d %s, want 400 naming delay", resp.StatusCode, body)
	}
}
