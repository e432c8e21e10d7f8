package gcpace

import (
	"runtime/debug"
	"testing"
)

// percent returns the GC percent now.
func percent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func reset(t *testing.T) {
	was := percent()
	t.Cleanup(func() {
		mu.Lock()
		tuned, moving = 0, 0
		mu.Unlock()
		debug.SetGCPercent(was)
	})
}

// TestMoving: a large transfer lowers the GC percent Tune set while it
// lasts, and while any other does; small ones change nothing.
func TestMoving(t *testing.T) {
	reset(t)
	Tune(400)
	if p := percent(); p != 400 {
		t.Fatalf("after Tune(400): %d", p)
	}
	var small Meter
	small.Add(Threshold)
	if p := percent(); p != 400 {
		t.Errorf("a transfer of Threshold bytes set %d", p)
	}
	var a, b Meter
	a.Add(Threshold)
	a.Add(1)
	if p := percent(); p != MovingPercent {
		t.Errorf("a large transfer: %d, want %d", p, MovingPercent)
	}
	b.Add(Threshold + 1)
	a.Done()
	a.Done()
	if p := percent(); p != MovingPercent {
		t.Errorf("one large transfer over, one still moving: %d, want %d", p, MovingPercent)
	}
	b.Done()
	small.Done()
	if p := percent(); p != 400 {
		t.Errorf("all over: %d, want 400", p)
	}
}

// TestUntuned: without Tune (GOGC set by the user), transfers leave the
// percent alone.
func TestUntuned(t *testing.T) {
	reset(t)
	debug.SetGCPercent(300)
	var m Meter
	m.Add(2 * Threshold)
	if p := percent(); p != 300 {
		t.Errorf("an untuned process: %d, want 300", p)
	}
	m.Done()
}
