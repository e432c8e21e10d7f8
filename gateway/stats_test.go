package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

func TestThroughput(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 0, 30, 0, time.UTC)
	tp := throughput{}
	tp.add("a", now, now)
	tp.add("a", now.Add(-10*time.Second), now)
	tp.add("a", now.Add(-time.Minute), now)
	tp.add("a", now.Add(-59*time.Minute), now)
	tp.add("a", now.Add(-61*time.Minute), now) // too old
	tp.add("a", now.Add(time.Hour), now)       // in the future
	tp.add("b", now.Add(-2*time.Minute), now)
	got := tp.series("a", now)
	want := make([]int, statsMinutes)
	want[59], want[58], want[0] = 2, 1, 1
	if !slices.Equal(got, want) {
		t.Fatalf("a: %v, want %v", got, want)
	}
	// An hour on, the ring's buckets are stale and read as zero.
	if got := tp.series("a", now.Add(time.Hour)); slices.Max(got) != 0 {
		t.Fatalf("an hour later: %v", got)
	}
	// A bucket reused for a new minute starts again from zero.
	later := now.Add(statsMinutes * time.Minute)
	tp.add("a", later, later)
	if got := tp.series("a", later); got[59] != 1 {
		t.Fatalf("reused bucket: %v", got[59])
	}
	if got := tp.series("none", now); len(got) != statsMinutes || slices.Max(got) != 0 {
		t.Fatalf("unknown algorithm: %v", got)
	}
}

func TestIndexStats(t *testing.T) {
	x := newIndex()
	now := time.Now()
	x.put([]byte(`{"id":"1","algorithm":"a","status":"queued"}`), 1, now)
	x.put([]byte(`{"id":"1","algorithm":"a","status":"running"}`), 1, now)
	x.put([]byte(`{"id":"1","algorithm":"a","status":"failed"}`), 1, now)
	x.put([]byte(`{"id":"1","algorithm":"a","status":"failed"}`), 1, now) // seen again: not counted twice
	x.put([]byte(`{"id":"2","algorithm":"a","status":"succeeded"}`), 1, now)
	st := x.stats([]string{"b"}, now)
	if len(st.Algorithms) != 2 || st.Algorithms[0].Name != "a" || st.Algorithms[1].Name != "b" {
		t.Fatalf("algorithms: %+v", st.Algorithms)
	}
	a := st.Algorithms[0]
	if a.Counts[conveyor.StatusFailed] != 1 || a.Counts[conveyor.StatusSucceeded] != 1 || a.Counts[conveyor.StatusQueued] != 0 {
		t.Fatalf("counts: %v", a.Counts)
	}
	if a.FinishedPerMinute[statsMinutes-1] != 2 {
		t.Fatalf("finished this minute: %v", a.FinishedPerMinute)
	}
}
