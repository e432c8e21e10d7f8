package httpkind

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

// service is a small HTTP service on loopback that behaves as the
// conformance suite asks: /run/echo, /run/fail (500), /run/fail_permanently
// (400), /run/block (until the request is canceled), and /schemas.
type service struct {
	url     string
	calls   atomic.Int32
	blocked atomic.Int32 // requests of block in progress
}

func startService(t *testing.T) *service {
	t.Helper()
	s := &service{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		var in struct{ Message string }
		_ = json.Unmarshal(body, &in)
		switch r.PathValue("name") {
		case "echo":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		case "fail":
			http.Error(w, in.Message, http.StatusInternalServerError)
		case "fail_permanently":
			http.Error(w, in.Message, http.StatusBadRequest)
		case "block":
			s.blocked.Add(1)
			defer s.blocked.Add(-1)
			<-r.Context().Done()
		case "notjson":
			_, _ = w.Write([]byte("hello"))
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /schemas", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"echo": {"input_schema": {"type": "object", "required": ["text"]}, "description": "Echoes."}}`))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

func provision(t *testing.T, e config.Algorithm) runner.Served {
	t.Helper()
	e.Kind = "http"
	served, err := Kind{}.Provision(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return served[0]
}

func TestConformance(t *testing.T) {
	s := startService(t)
	// An HTTP service has no channel for progress or logs: Report is
	// skipped, and Block is under way once the service has the request.
	runnertest.Run(t, func(t *testing.T, b runnertest.Behaviour) runner.Handler {
		return provision(t, Entry(config.Algorithm{Name: string(b)}, Options{URL: s.url})).Handler
	}, runnertest.Options{
		Skip: []runnertest.Behaviour{runnertest.Report},
		Blocking: func(t *testing.T) {
			deadline := time.Now().Add(10 * time.Second)
			for s.blocked.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the service never got the request")
				}
				time.Sleep(5 * time.Millisecond)
			}
		},
	})
}

func TestSchemasFromTheService(t *testing.T) {
	s := startService(t)
	got := provision(t, Entry(config.Algorithm{Name: "echo"}, Options{URL: s.url + "/"}))
	if !strings.Contains(string(got.Algorithm.InputSchema), `"required":["text"]`) || got.Algorithm.Description != "Echoes." {
		t.Fatalf("algorithm %+v schema %s", got.Algorithm, got.Algorithm.InputSchema)
	}
	// Config wins; a service without the algorithm's schema means any object.
	got = provision(t, Entry(config.Algorithm{Name: "echo", InputSchema: map[string]any{"type": "object"}}, Options{URL: s.url}))
	if string(got.Algorithm.InputSchema) != `{"type":"object"}` {
		t.Fatalf("config schema: %s", got.Algorithm.InputSchema)
	}
	got = provision(t, Entry(config.Algorithm{Name: "fail"}, Options{URL: s.url}))
	if string(got.Algorithm.InputSchema) != string(conveyor.AnyObjectSchema) {
		t.Fatalf("no schema: %s", got.Algorithm.InputSchema)
	}
}

func TestOutcomes(t *testing.T) {
	s := startService(t)
	run := func(name string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h := provision(t, Entry(config.Algorithm{Name: name}, Options{URL: s.url})).Handler
		_, err := h.Run(ctx, &runner.Task{JobID: "j", Input: json.RawMessage(`{"message":"m"}`), Attempt: 1, Reporter: runnertest.NewRecorder()})
		return err
	}
	var je *conveyor.JobError
	if err := run("notjson", 5*time.Second); !errors.As(err, &je) || !strings.Contains(je.Message, "not JSON") {
		t.Fatalf("non-JSON 200: %v", err)
	}
	if err := run("fail", 5*time.Second); !errors.As(err, &je) || conveyor.IsPermanent(err) || je.Message != "HTTP 500: m" {
		t.Fatalf("500: %v", err)
	}
	if err := run("block", 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	dead := provision(t, Entry(config.Algorithm{Name: "echo", InputSchema: map[string]any{"type": "object"}}, Options{URL: "http://127.0.0.1:1"}))
	_, err := dead.Handler.Run(context.Background(), &runner.Task{JobID: "j", Input: json.RawMessage(`{}`), Attempt: 1, Reporter: runnertest.NewRecorder()})
	if !errors.As(err, &je) || conveyor.IsPermanent(err) || !strings.Contains(je.Message, "request failed") {
		t.Fatalf("connection refused: %v", err)
	}
	withCommand := Entry(config.Algorithm{Name: "x"}, Options{URL: "http://h"})
	if err := withCommand.SetOptions(map[string]any{"command": []string{"sh"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []config.Algorithm{{Name: "x"}, Entry(config.Algorithm{Name: "x"}, Options{URL: "ftp://h"}), Entry(config.Algorithm{}, Options{URL: "http://h"}), withCommand} {
		if _, err := (Kind{}).Provision(context.Background(), e); err == nil {
			t.Errorf("Provision(%+v) accepted a bad entry", e)
		}
	}
}
