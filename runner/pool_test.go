package runner

import "testing"

// TestPoolPrefetchSlots: a pool whose handler holds jobs ahead takes that
// many beyond its slots, and counts them as held, not busy.
func TestPoolPrefetchSlots(t *testing.T) {
	p := &pool{size: 2, prefetcher: fixedPrefetch(2), changed: make(chan struct{})}
	for i := range 4 {
		if !p.tryAcquire(false) {
			t.Fatalf("slot %d refused", i+1)
		}
	}
	if p.tryAcquire(false) {
		t.Error("a fifth slot was given: 2 running + 2 ahead")
	}
	if n, _ := p.reservePull(); n != 0 {
		t.Errorf("reservePull = %d with every slot taken", n)
	}
	if got, held := p.busy(), p.holding(); got != 2 || held != 4 {
		t.Errorf("busy %d, holding %d; want 2 running of 4 held", got, held)
	}
	p.release()
	if n, _ := p.reservePull(); n != 1 {
		t.Errorf("reservePull = %d after a release, want 1", n)
	}
}

// fixedPrefetch is a Prefetcher that holds a fixed number of jobs ahead.
type fixedPrefetch int

func (f fixedPrefetch) Prefetch() int { return int(f) }
