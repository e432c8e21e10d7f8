package app

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

type event struct{ id, name, data string }

// readEvents reads a job's event stream until its end event. A stream
// that has not sent it within requestTimeout fails the test.
func readEvents(t *testing.T, s *server, id, lastEventID string) []event {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+"/v1/jobs/"+id+"/events", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var evs []event
	var cur event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20) // a job with a large payload is one long line
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" {
				evs = append(evs, cur)
				if cur.name == "end" {
					return evs
				}
			}
			cur = event{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	t.Fatalf("no end event (the stream ended, or %v passed): %v (%v)", requestTimeout, evs, sc.Err())
	return nil
}

func TestEvents(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": "one two"}}, "", http.StatusAccepted)
	evs := readEvents(t, s, j.ID, "")
	var names, lines []string
	firstLog := ""
	for _, e := range evs {
		names = append(names, e.name)
		if e.name == "log" {
			lines = append(lines, e.data)
			if firstLog == "" {
				firstLog = e.id
			}
		}
	}
	all := strings.Join(names, ",")
	if !strings.HasPrefix(all, "status") || !strings.HasSuffix(all, "end") || !strings.Contains(all, "progress") {
		t.Fatalf("events %s", all)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"counting words", "a plain line", "to stderr"} {
		if !strings.Contains(text, want) {
			t.Fatalf("log events lack %q:\n%s", want, text)
		}
	}
	if end := evs[len(evs)-1]; !strings.Contains(end.data, `"status":"succeeded"`) {
		t.Fatalf("end: %s", end.data)
	}

	// Resuming after the first log line: the rest of the lines, none twice,
	// the record once (it changed since that event), and the end.
	again := readEvents(t, s, j.ID, firstLog)
	var rest []string
	statuses := 0
	for _, e := range again {
		switch e.name {
		case "log":
			rest = append(rest, e.data)
		case "status":
			statuses++
		}
	}
	if len(rest) != len(lines)-1 || (len(rest) > 0 && rest[0] != lines[1]) || statuses > 1 {
		t.Fatalf("resume after the first of %d lines gave %d lines, %d statuses: %v", len(lines), len(rest), statuses, again)
	}
	// Resuming from the end event: nothing new, just the end.
	if last := readEvents(t, s, j.ID, evs[len(evs)-1].id); len(last) != 1 || last[0].name != "end" {
		t.Fatalf("resume from the end: %v", last)
	}

	// A job that does not exist is a 404, not a stream.
	if resp := s.do("GET", "/v1/jobs/01NOSUCHJOB/events", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown job: %d", resp.StatusCode)
	}
}

// TestEventsLive follows a running job: progress arrives as it is made.
func TestEventsLive(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 1}}, "", http.StatusAccepted)
	evs := readEvents(t, s, j.ID, "")
	progress := 0
	for _, e := range evs {
		if e.name == "progress" {
			progress++
		}
	}
	if progress < 3 || !strings.Contains(evs[len(evs)-1].data, `"status":"succeeded"`) {
		t.Fatalf("%d progress events, end %s", progress, evs[len(evs)-1].data)
	}
}

// TestEventsOfQueuedJob: a stream of a job still waiting in the queue —
// held by its queue message alone, with no record in the store yet —
// opens with its status, as any other.
func TestEventsOfQueuedJob(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms[0].Workers.Max = 1
	s := startServer(t, cfg)
	gate := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}}, "", http.StatusAccepted)
	t.Cleanup(func() { s.do("POST", "/v1/jobs/"+gate.ID+"/cancel", nil, nil) })
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0}}, "", http.StatusAccepted)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/jobs/"+j.ID+"/events", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var first []string
	for sc.Scan() && len(first) < 3 {
		if line := sc.Text(); line != "" {
			first = append(first, line)
		}
	}
	if len(first) < 3 || first[1] != "event: status" || !strings.Contains(first[2], `"status":"queued"`) {
		t.Fatalf("the stream of a queued job opened with %q", first)
	}
}

// TestAllEvents follows the status changes of every is_prime job.
func TestAllEvents(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events?algorithm=is_prime", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": jobs" { // the stream is open: changes from now on reach it
		t.Fatalf("first line %q", sc.Text())
	}
	s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0}}, "?wait=10s", http.StatusOK)
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "", http.StatusAccepted)
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") {
			seen = append(seen, line)
			if strings.Contains(line, "sleep") {
				t.Fatalf("a sleep job in an is_prime stream: %s", line)
			}
			if strings.Contains(line, j.ID) && strings.Contains(line, `"status":"succeeded"`) {
				return
			}
		}
	}
	t.Fatalf("no succeeded event for %s: %v (%v)", j.ID, seen, sc.Err())
}

// sseEvent is one event of an event stream as a client reads it: the id
// it carries (or the last one before it), its type and data.
type sseEvent struct{ id, event, data string }

// readSSE reads the events of an event stream, and the ids it gives
// without an event (event ""), until stop says so, and returns the last id
// the stream gave.
func readSSE(t *testing.T, sc *bufio.Scanner, stop func(sseEvent) bool) (lastID string) {
	t.Helper()
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.id != "" {
				lastID = ev.id
			}
			if (ev.event != "" || ev.id != "") && stop(ev) {
				return lastID
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("the stream ended: %v", sc.Err())
	return ""
}

// TestAllEventsResume: every event of /v1/events carries an id, and a
// client that reconnects with Last-Event-ID gets the jobs that changed
// while it was away, with their status as it is now, and nothing it saw.
func TestAllEventsResume(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	open := func(lastID string) (*bufio.Scanner, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events?algorithm=is_prime", nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("/v1/events: %d", resp.StatusCode)
		}
		return bufio.NewScanner(resp.Body), func() { cancel(); resp.Body.Close() }
	}

	sc, closeStream := open("")
	// The stream opens with its position, before any event.
	if first := readSSE(t, sc, func(sseEvent) bool { return true }); first == "" {
		t.Fatal("the stream opened without an id")
	}
	seen := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", http.StatusOK)
	last := readSSE(t, sc, func(ev sseEvent) bool {
		if ev.event != "" && ev.id == "" {
			t.Fatalf("event without an id: %+v", ev)
		}
		return strings.Contains(ev.data, seen.ID) && strings.Contains(ev.data, `"status":"succeeded"`)
	})
	closeStream()

	// While the client is away: a job runs from queued to succeeded.
	missed := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 11}}, "?wait=10s", http.StatusOK)
	if missed.Status != conveyor.StatusSucceeded {
		t.Fatalf("missed job: %+v", missed)
	}
	sc, closeStream = open(last)
	defer closeStream()
	readSSE(t, sc, func(ev sseEvent) bool {
		if ev.event != "" && ev.id == "" {
			t.Fatalf("event without an id: %+v", ev)
		}
		if strings.Contains(ev.data, seen.ID) {
			t.Fatalf("resumed after %s, got again the job seen before: %+v", last, ev)
		}
		return strings.Contains(ev.data, missed.ID) && strings.Contains(ev.data, `"status":"succeeded"`)
	})
}
