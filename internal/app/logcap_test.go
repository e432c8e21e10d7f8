package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

// TestLogCap: a job's log is kept under logs.max_per_job; the oldest lines
// go first, and readers (GET …/logs and the event stream) see a marker
// line saying how many. A retry's lines count against the same cap, and
// number on from the first attempt's.
func TestLogCap(t *testing.T) {
	const limit = 16 << 10
	cfg := testConfig(t, t.TempDir())
	cfg.Logs.MaxPerJob = limit
	// Each attempt prints 1,000 lines of 40 bytes (+ newline): 41 KB, more
	// than twice the cap. The first attempt then fails; the second succeeds.
	script := `a=$CONVEYOR_ATTEMPT; seq -f "attempt $a line %04g ............................" 1 1000; [ "$a" = 2 ] && echo "OUTPUT: {}"`
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{
		Name:        "chatty",
		MaxAttempts: 2,
		InputSchema: map[string]any{"type": "object"},
	}, execkind.Options{
		Command: []string{"sh", "-c", script},
	}))
	cfg.WithDefaults()
	s := startServer(t, cfg)

	j := s.submit(map[string]any{"algorithm": "chatty", "input": map[string]any{}}, "", http.StatusAccepted)
	if j = s.wait(j.ID); j.Status != conveyor.StatusSucceeded || j.Attempt != 2 {
		t.Fatalf("job: %s attempt %d %+v", j.Status, j.Attempt, j.Error)
	}
	var list conveyor.LogList
	if resp := s.do("GET", "/v1/jobs/"+j.ID+"/logs", nil, &list); resp.StatusCode != 200 {
		t.Fatalf("logs: %d", resp.StatusCode)
	}
	check := func(from string, lines []conveyor.LogLine) {
		t.Helper()
		if len(lines) < 2 {
			t.Fatalf("%s: %d lines", from, len(lines))
		}
		var dropped int
		if _, err := fmt.Sscanf(lines[0].Line, "… %d earlier lines dropped", &dropped); err != nil {
			t.Fatalf("%s: first line %q, want the marker", from, lines[0].Line)
		}
		// Every line kept is one of the 2,000 printed, in order, the last
		// one last; the marker counts exactly those before the first kept.
		want := dropped
		size := 0
		for _, l := range lines[1:] {
			attempt, n := want/1000+1, want%1000+1
			if prefix := fmt.Sprintf("attempt %d line %04d ", attempt, n); !strings.HasPrefix(l.Line, prefix) {
				t.Fatalf("%s: line %q, want it to start %q", from, l.Line, prefix)
			}
			want++
			size += len(l.Line) + 1
		}
		if want != 2000 {
			t.Fatalf("%s: the last line kept is number %d, want 2000", from, want)
		}
		if size > limit || size < limit/2 {
			t.Fatalf("%s: %d bytes of log kept, want at most the cap (%d) and not much less", from, size, limit)
		}
	}
	check("GET logs", list.Logs)

	var streamed []conveyor.LogLine
	for _, ev := range readEvents(t, s, j.ID, "") {
		if ev.name == "log" {
			var l conveyor.LogLine
			if err := json.Unmarshal([]byte(ev.data), &l); err != nil {
				t.Fatal(err)
			}
			streamed = append(streamed, l)
		}
	}
	check("events", streamed)
}
