package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestFlood: lines within the rate pass; past it the newest are held,
// within the rate's bytes, and released after a marker once their second
// is over, or at once at the end.
func TestFlood(t *testing.T) {
	var f flood
	t0 := time.Now()
	line := func(i int, at time.Duration) conveyor.LogLine {
		return conveyor.LogLine{Time: t0.Add(at), Stream: "stdout", Line: fmt.Sprintf("line %06d %s", i, strings.Repeat("x", 1000))}
	}
	cost := lineCost(line(0, 0))
	perSecond := logRate / cost
	admitted := 0
	for i := range 10 * perSecond {
		if f.admit(line(i, 0)) {
			admitted++
		}
		if f.size > logRate {
			t.Fatalf("after line %d, %d bytes held, past the rate %d", i, f.size, logRate)
		}
	}
	if admitted != perSecond {
		t.Errorf("%d lines admitted in the first second, want %d", admitted, perSecond)
	}
	if got := f.release(t0.Add(999*time.Millisecond), 1); got != nil {
		t.Fatalf("released %d lines before the second was over", len(got))
	}
	got := f.release(t0.Add(time.Second), 1)
	if len(got) != perSecond+1 || !strings.HasPrefix(got[0].Line, fmt.Sprintf("conveyor: %d log lines dropped", 8*perSecond)) {
		t.Fatalf("released %d lines starting %q, want the marker of %d dropped and %d lines", len(got), got[0].Line, 8*perSecond, perSecond)
	}
	if last := got[len(got)-1].Line; !strings.HasPrefix(last, fmt.Sprintf("line %06d ", 10*perSecond-1)) {
		t.Errorf("the last line released is %.12q, want the last logged", last)
	}
	// The released lines count against the next second: a line is held.
	if f.admit(line(0, time.Second)) {
		t.Error("a line passed right after a full second was released")
	}
	if got := f.release(time.Time{}, 1); len(got) != 1 {
		t.Errorf("the end released %d lines, want the 1 held", len(got))
	}
	if !f.admit(line(1, 3*time.Second)) {
		t.Error("a line after a quiet second was held")
	}
}

// TestLogFloodBounded: a handler that logs 200 MiB publishes about a
// MiB a second of it, not all of it, and the job's log ends with its last
// line. On main every line was published — and buffered on the way.
func TestLogFloodBounded(t *testing.T) {
	_, b := brokertest.Open(t)
	const lines = 200_000
	text := strings.Repeat("y", 1024)
	spew := HandlerFunc(func(_ context.Context, task *Task) (json.RawMessage, error) {
		for i := range lines {
			task.Reporter.Log("stdout", fmt.Sprintf("%06d %s", i, text))
		}
		return json.RawMessage(`{}`), nil
	})
	startRunner(t, b, 1, map[string]Handler{"flood_spew": spew})
	j := &conveyor.Job{ID: "flood", Algorithm: "flood_spew", Status: conveyor.StatusQueued, Input: []byte(`{}`), MaxAttempts: 1, CreatedAt: time.Now().UTC()}
	s, err := b.CreateJob(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := b.Enqueue(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the job to succeed", func() bool {
		j, _, err := b.GetJob(t.Context(), "flood")
		return err == nil && j.Status == conveyor.StatusSucceeded
	})
	took := time.Since(began)
	st, err := b.ReadLogState(t.Context(), "flood")
	if err != nil {
		t.Fatal(err)
	}
	// Lines published: about a MiB a second, plus the second held at the end.
	bound := int((took.Seconds() + 2) * logRate / float64(len(text)+8+lineOverhead))
	if int(st.Next) > bound || int(st.Next) >= lines/4 {
		t.Errorf("%d of %d lines published in %v, want at most %d", st.Next, lines, took, bound)
	}
	logs, err := b.ReadLogs(t.Context(), "flood")
	if err != nil {
		t.Fatal(err)
	}
	if last := logs[len(logs)-1].Line; !strings.HasPrefix(last, fmt.Sprintf("%06d ", lines-1)) {
		t.Errorf("the log ends %.10q, want the last line logged", last)
	}
	t.Logf("%d of %d lines published in %v", st.Next, lines, took)
}
