package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
	"github.com/conveyor-run/conveyor/runner/httpkind"
)

// TestTraceparent: a valid W3C traceparent header on a submit is stored on
// the job and reaches the work — an exec process's CONVEYOR_TRACEPARENT, a
// Python worker's job.traceparent, an http algorithm's traceparent header —
// through both submit routes; an invalid one is ignored.
func TestTraceparent(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/tracemod.py") // so that go test's cache sees it

	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/trace_http", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"traceparent": r.Header.Get("traceparent")})
	})
	srv := httptest.NewServer(mux) // on 127.0.0.1
	t.Cleanup(srv.Close)
	ln := srv.Listener

	cfg := testConfig(t, t.TempDir())
	object := map[string]any{"type": "object"}
	cfg.Algorithms = []config.Algorithm{
		execkind.Entry(config.Algorithm{
			Name:        "trace_exec",
			InputSchema: object,
		}, execkind.Options{
			Command: []string{"sh", "-c", `echo "OUTPUT: {\"traceparent\": \"$CONVEYOR_TRACEPARENT\"}"`},
		}),
		pyWorker(python, dir, "tracemod", config.Algorithm{
			Workers: config.Workers{Max: 1},
			Grace:   conveyor.Duration(2 * time.Second),
		}),
		httpkind.Entry(config.Algorithm{Name: "trace_http", InputSchema: object}, httpkind.Options{URL: "http://" + ln.Addr().String()}),
	}
	cfg.WithDefaults()
	s := startServer(t, cfg)

	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	submit := func(path, body, traceparent string) conveyor.Job {
		t.Helper()
		req, _ := http.NewRequest("POST", s.base+path+"?wait=30s", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var j conveyor.Job
		if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 || j.Status != conveyor.StatusSucceeded {
			t.Fatalf("%s: %d %v %+v %+v", path, resp.StatusCode, err, j, j.Error)
		}
		return j
	}
	for _, alg := range []string{"trace_exec", "trace", "trace_http"} {
		for _, route := range []struct{ path, body string }{
			{"/v1/jobs", `{"algorithm": "` + alg + `", "input": {}}`},
			{"/v1/algorithms/" + alg + "/jobs", `{}`},
		} {
			j := submit(route.path, route.body, tp)
			if j.Traceparent != tp || string(j.Output) != `{"traceparent":"`+tp+`"}` {
				t.Errorf("%s via %s: job traceparent %q, the work saw %s", alg, route.path, j.Traceparent, j.Output)
			}
		}
		// An invalid traceparent is ignored, not refused; so is none.
		for _, bad := range []string{"00-xyz", ""} {
			j := submit("/v1/algorithms/"+alg+"/jobs", `{}`, bad)
			want := `{"traceparent":""}`
			if alg == "trace" {
				want = `{"traceparent":null}`
			}
			if j.Traceparent != "" || string(j.Output) != want {
				t.Errorf("%s with traceparent %q: job traceparent %q, the work saw %s", alg, bad, j.Traceparent, j.Output)
			}
		}
	}
}
