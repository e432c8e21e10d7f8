package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// server is a running `conveyor serve` for one test: real embedded broker
// in a temp dir, real runner, real HTTP on loopback.
type server struct {
	t    testing.TB
	app  *App
	base string
}

// testConfig serves the built-in Go algorithms and the wordcount exec
// script.
func testConfig(t testing.TB, dataDir string) config.Config {
	script, err := filepath.Abs("testdata/wordcount.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{
		HTTP:    config.HTTP{Addr: "127.0.0.1:0"},
		DataDir: dataDir,
		Algorithms: []config.Algorithm{
			{Kind: "go", Workers: config.Workers{Max: 4}},
			execkind.Entry(config.Algorithm{
				Name: "wordcount",
				InputSchema: map[string]any{"type": "object", "required": []any{"text"},
					"properties": map[string]any{"text": map[string]any{"type": "string"}, "fail": map[string]any{"type": "boolean"}}},
			}, execkind.Options{
				Command: []string{testenv.Python(t), script},
			}),
			execkind.Entry(config.Algorithm{Name: "spawn", Grace: conveyor.Duration(time.Second)}, execkind.Options{Command: []string{"sh", filepath.Join(filepath.Dir(script), "spawn.sh")}}),
		},
		ShutdownGrace: conveyor.Duration(5 * time.Second),
	}
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startServer(t testing.TB, cfg config.Config) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return &server{t: t, app: a, base: "http://" + a.Addr()}
}

// requestTimeout bounds every HTTP request these tests send, its body
// and event streams included, so that a server that stops answering fails
// the test instead of hanging it. It is far above the longest ?wait= a
// test asks for (30s).
const requestTimeout = 2 * time.Minute

// httpClient sends the requests of these tests: http.DefaultClient bounded by
// requestTimeout.
var httpClient = &http.Client{Timeout: requestTimeout}

// do sends a request and decodes the JSON answer into out (if not nil).
// It returns the response with its body already read.
func (s *server) do(method, path string, body any, out any) *http.Response {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: decode: %v", method, path, resp.StatusCode, data, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

// submit posts a job and fails the test unless the answer has want status.
func (s *server) submit(req map[string]any, query string, want int) *conveyor.Job {
	s.t.Helper()
	var j conveyor.Job
	resp := s.do("POST", "/v1/jobs"+query, req, &j)
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("submit %v: status %d, want %d: %s", req, resp.StatusCode, want, body)
	}
	return &j
}

// wait long-polls a job until it is final.
func (s *server) wait(id string) *conveyor.Job {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var j conveyor.Job
		if resp := s.do("GET", "/v1/jobs/"+id+"?wait=10s", nil, &j); resp.StatusCode != 200 {
			s.t.Fatalf("get %s: %d", id, resp.StatusCode)
		}
		if j.Status.Terminal() {
			return &j
		}
	}
	s.t.Fatalf("job %s not final after 60s", id)
	return nil
}

func problem(t *testing.T, resp *http.Response) conveyor.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p conveyor.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

// logBuffer keeps a log's output, for a test to read: safe for concurrent
// use, as an App logs from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pyWorker returns a worker entry whose processes run the Python module
// of dir through the bundled SDK, started as python -m conveyor.worker
// module, with common's keys; opts, at most one, are more of the worker
// kind's keys.
func pyWorker(python, dir, module string, common config.Algorithm, opts ...workerkind.Options) config.Algorithm {
	var o workerkind.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Process.Command, o.Process.Dir = []string{python, "-m", "conveyor.worker", module}, dir
	return workerkind.Entry(common, o)
}
