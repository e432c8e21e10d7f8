package gateway

import (
	"slices"
	"testing"
	"time"
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

// TestIndexThroughput: a job counts once as finished, however often its
// final record is seen.
func TestIndexThroughput(t *testing.T) {
	x := newTestIndex()
	now := time.Now()
	put(x, []byte(`{"id":"1","algorithm":"a","status":"queued"}`))
	put(x, []byte(`{"id":"1","algorithm":"a","status":"running"}`))
	put(x, []byte(`{"id":"1","algorithm":"a","status":"failed"}`))
	put(x, []byte(`{"id":"1","algorithm":"a","status":"failed"}`)) // seen again: not counted twice
	put(x, []byte(`{"id":"2","algorithm":"a","status":"succeeded"}`))
	if got := x.done.series("a", now); got[statsMinutes-1] != 2 {
		t.Fatalf("finished this minute: %v", got)
	}
}
