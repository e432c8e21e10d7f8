package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

// TestLogsFollow: GET /v1/jobs/{id}/logs?follow=true streams a running
// job's lines as NDJSON as they are stored and ends when the job is final;
// for a finished job it sends them all and ends.
func TestLogsFollow(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{
		Name:        "ticker",
		InputSchema: map[string]any{"type": "object"},
	}, execkind.Options{
		Command: []string{"sh", "-c", `for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.1; done; echo "OUTPUT: 5"`},
	}))
	cfg.WithDefaults()
	s := startServer(t, cfg)

	follow := func(id string) []string {
		t.Helper()
		resp, err := httpClient.Get(s.base + "/v1/jobs/" + id + "/logs?follow=true")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var lines []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var l conveyor.LogLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("not a log line: %q", sc.Text())
			}
			lines = append(lines, l.Line)
		}
		if err := sc.Err(); err != nil { // the stream broke, or requestTimeout passed
			t.Fatalf("follow after %q: %v", lines, err)
		}
		return lines
	}
	want := "[tick 1 tick 2 tick 3 tick 4 tick 5]"
	j := s.submit(map[string]any{"algorithm": "ticker", "input": map[string]any{}}, "", http.StatusAccepted)
	if got := fmt.Sprint(follow(j.ID)); got != want { // returns only once the job is final
		t.Fatalf("followed a running job: %s, want %s", got, want)
	}
	if j := s.wait(j.ID); j.Status != conveyor.StatusSucceeded {
		t.Fatalf("job %s", j.Status)
	}
	if got := fmt.Sprint(follow(j.ID)); got != want {
		t.Fatalf("followed a finished job: %s, want %s", got, want)
	}
	if resp := s.do("GET", "/v1/jobs/nope/logs?follow=true", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown job: %d", resp.StatusCode)
	}
}
