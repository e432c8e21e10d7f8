package app

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

// TestHTTPKind serves an algorithm that is an HTTP service on loopback:
// 2xx is the output, 4xx fails at once, 5xx is retried.
func TestHTTPKind(t *testing.T) {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/shout", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch string(body) {
		case `{"text":"bad"}`:
			http.Error(w, "text must not be bad", http.StatusUnprocessableEntity)
		case `{"text":"flaky"}`:
			if n%2 == 1 {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(`{"text":"FLAKY"}`))
		default:
			_, _ = w.Write([]byte(`{"text":"HI"}`))
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = []config.Algorithm{{Name: "shout", Kind: "http", URL: "http://" + ln.Addr().String(),
		InputSchema: map[string]any{"type": "object", "required": []any{"text"}}}}
	cfg.WithDefaults()
	s := startServer(t, cfg)

	if j := s.submit(map[string]any{"algorithm": "shout", "input": map[string]any{"text": "hi"}}, "?wait=10s", http.StatusOK); string(j.Output) != `{"text":"HI"}` {
		t.Fatalf("2xx: %+v %s", j, j.Output)
	}
	j := s.submit(map[string]any{"algorithm": "shout", "input": map[string]any{"text": "bad"}}, "", http.StatusAccepted)
	if done := s.wait(j.ID); done.Status != conveyor.StatusFailed || done.Attempt != 1 || done.Error.Detail == "" {
		t.Fatalf("4xx: %s attempt %d %+v", done.Status, done.Attempt, done.Error)
	}
	j = s.submit(map[string]any{"algorithm": "shout", "input": map[string]any{"text": "flaky"}}, "", http.StatusAccepted)
	if done := s.wait(j.ID); done.Status != conveyor.StatusSucceeded || done.Attempt != 2 {
		t.Fatalf("5xx then 2xx: %s attempt %d %+v", done.Status, done.Attempt, done.Error)
	}
}
