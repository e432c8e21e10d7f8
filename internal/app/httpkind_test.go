package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/httpkind"
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
	s := startWithService(t, mux, config.Algorithm{Name: "shout", InputSchema: map[string]any{"type": "object", "required": []any{"text"}}})

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

// TestHTTPKindDown: on the synchronous path, an http algorithm whose
// service refuses connections answers 502 (bad gateway), not 422, which
// stays for the algorithm's own failure (its service's 4xx); a job of it
// fails its attempt as "unreachable", retried like any failed attempt.
func TestHTTPKindDown(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/up", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "text must not be bad", http.StatusUnprocessableEntity)
	})
	schema := map[string]any{"type": "object"}
	s := startWithService(t, mux, config.Algorithm{Name: "up", InputSchema: schema},
		httpkind.Entry(config.Algorithm{Name: "down", InputSchema: schema, MaxAttempts: 1}, httpkind.Options{URL: "http://" + testenv.FreeAddr(t)}))

	resp := s.do("POST", "/v1/algorithms/down/run", `{}`, nil)
	if p := problem(t, resp); resp.StatusCode != http.StatusBadGateway || p.Code != conveyor.EBADGATEWAY || !strings.Contains(p.Detail, "connection refused") {
		t.Fatalf("down service, sync: %d %+v, want 502 bad_gateway", resp.StatusCode, p)
	}
	resp = s.do("POST", "/v1/algorithms/up/run", `{}`, nil)
	if p := problem(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || p.Code != conveyor.EFAILED {
		t.Fatalf("service's 4xx, sync: %d %+v, want 422", resp.StatusCode, p)
	}
	j := s.submit(map[string]any{"algorithm": "down", "input": map[string]any{}}, "?wait=30s", http.StatusOK)
	if j.Status != conveyor.StatusFailed || j.Error == nil || j.Error.Type != conveyor.ErrorTypeUnreachable || !strings.Contains(j.Error.Message, "connection refused") {
		t.Fatalf("down service, job: %+v %+v", j, j.Error)
	}
}

// TestHTTPKindReadsFile: a job of an http algorithm whose input references
// an uploaded file hands the service the reference as it is, and the
// service reads the file through the API (GET /v1/files/{id}).
func TestHTTPKindReadsFile(t *testing.T) {
	var base atomic.Value // the gateway's URL, once it is up
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/filehash", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Data map[string]any `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, _ := in.Data[conveyor.FileKey].(string)
		resp, err := http.Get(base.Load().(string) + "/v1/files/" + id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, fmt.Sprintf("read the file: %d %v", resp.StatusCode, err), http.StatusBadGateway)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sha256": hex.EncodeToString(h.Sum(nil)), "keys": len(in.Data)})
	})
	s := startWithService(t, mux, config.Algorithm{Name: "filehash", InputSchema: map[string]any{"type": "object", "required": []any{"data"}}})
	base.Store(s.base)

	data := make([]byte, 3<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	fi := s.uploadFile(data)
	sum := sha256.Sum256(data)
	j := s.submit(map[string]any{"algorithm": "filehash", "input": map[string]any{"data": map[string]any{conveyor.FileKey: fi.ID}}}, "?wait=20s", http.StatusOK)
	var out struct {
		SHA256 string `json:"sha256"`
		Keys   int    `json:"keys"`
	}
	if err := json.Unmarshal(j.Output, &out); err != nil || out.SHA256 != hex.EncodeToString(sum[:]) || out.Keys != 1 {
		t.Fatalf("the service read %+v (%v) from the reference, want the sha256 of the %d bytes uploaded, the reference as it was", out, err, len(data))
	}
}

// startWithService starts a server whose http algorithm alg is served by
// service, on 127.0.0.1, next to the algorithms more.
func startWithService(t *testing.T, service http.Handler, alg config.Algorithm, more ...config.Algorithm) *server {
	t.Helper()
	srv := httptest.NewServer(service)
	t.Cleanup(srv.Close)
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append([]config.Algorithm{httpkind.Entry(alg, httpkind.Options{URL: srv.URL})}, more...)
	cfg.WithDefaults()
	return startServer(t, cfg)
}
