package app

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestShutdownGraceFromStop: the shutdown grace of running jobs counts
// from the stop (SIGTERM's "shutting down"), not from when the HTTP server
// has finished shutting down: with an event stream still open, which
// holds the HTTP shutdown, the grace runs out and the running job is
// handed back while HTTP still waits for that stream.
func TestShutdownGraceFromStop(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ShutdownGrace = conveyor.Duration(200 * time.Millisecond)
	logs := &logBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(a.Stop)
	t.Cleanup(stop)
	s := &server{t: t, app: a, base: "http://" + a.Addr()}

	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}}, "", http.StatusAccepted)
	testenv.Eventually(t, "the job to run", func() bool {
		var got conveyor.Job
		s.do("GET", "/v1/jobs/"+j.ID, nil, &got)
		return got.Status == conveyor.StatusRunning
	})
	sctx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	req, _ := http.NewRequestWithContext(sctx, "GET", s.base+"/v1/jobs/"+j.ID+"/events", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil { // the stream is open
		t.Fatal(err)
	}

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	testenv.Eventually(t, "the shutdown grace to run out", func() bool {
		return strings.Contains(logs.String(), "shutdown grace over")
	})
	closeStream() // only now can the HTTP server finish shutting down
	<-stopped
	text := logs.String()
	grace, httpDone := strings.Index(text, "shutdown grace over"), strings.Index(text, "http server stopped")
	if httpDone < 0 || grace > httpDone {
		t.Fatalf("the grace ran out after the HTTP server had stopped (or it never said so): it must count from the stop\n%s", text)
	}
}
