package backoff

import (
	"math"
	"testing"
	"time"
)

// TestDelayBounds checks, for every policy in use and some edge cases,
// that each wait lies within the upper half of its ceiling, that the
// ceiling doubles from Base to Max, and that a huge retry count neither
// overflows nor passes the cap.
func TestDelayBounds(t *testing.T) {
	const huge = math.MaxInt
	for _, tc := range []struct {
		name string
		p    Policy
	}{
		{"job retries", Policy{Base: time.Second, Max: 5 * time.Minute}},
		{"broker retries", Policy{Base: 50 * time.Millisecond, Max: 2 * time.Second}},
		{"gateway loops", Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}},
		{"callbacks", Policy{Base: time.Second, Max: time.Hour}},
		{"worker restarts", Policy{Base: 500 * time.Millisecond, Max: time.Minute}},
		{"odd nanoseconds", Policy{Base: 3, Max: 1001}},
		{"no cap", Policy{Base: time.Second}},
		{"base above cap", Policy{Base: 2 * time.Hour, Max: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.p.Max
			if limit <= 0 {
				limit = math.MaxInt64
			}
			for _, n := range append(seq(0, 40), -1, 63, 64, 1000, huge) {
				// The ceiling: Base doubled n times (0 for n < 0), then capped.
				hi := min(tc.p.Base, limit)
				for i := 0; i < n && hi < limit; i++ {
					if limit-hi < hi {
						hi = limit
					} else {
						hi += hi
					}
				}
				lo := hi - hi/2
				for range 200 {
					d := tc.p.Delay(n)
					if d < lo || d > hi {
						t.Fatalf("Delay(%d) = %v, want within [%v, %v]", n, d, lo, hi)
					}
					if tc.p.Max > 0 && d > tc.p.Max {
						t.Fatalf("Delay(%d) = %v, above the cap %v", n, d, tc.p.Max)
					}
				}
			}
		})
	}
}

// TestCeiling pins the schedule itself: exact doubling, then the cap.
func TestCeiling(t *testing.T) {
	p := Policy{Base: time.Second, Max: 5 * time.Minute}
	for n, want := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300} {
		if got := p.ceiling(n); got != want*time.Second {
			t.Errorf("ceiling(%d) = %v, want %v", n, got, want*time.Second)
		}
	}
	if got := (Policy{Base: time.Nanosecond}).ceiling(math.MaxInt); got != math.MaxInt64 {
		t.Errorf("uncapped ceiling for a huge n = %v, want the largest Duration", got)
	}
}

// TestZero: the zero Policy, or one with no Base, never waits.
func TestZero(t *testing.T) {
	for _, p := range []Policy{{}, {Max: time.Minute}, {Base: -time.Second, Max: time.Minute}} {
		for _, n := range []int{-1, 0, 1, 40, math.MaxInt} {
			if d := p.Delay(n); d != 0 {
				t.Errorf("%+v.Delay(%d) = %v, want 0", p, n, d)
			}
		}
	}
}

// TestJitterSpreads: the waits of one retry are spread over its range,
// not one value, so clients failing together retry apart.
func TestJitterSpreads(t *testing.T) {
	p := Policy{Base: time.Second, Max: time.Minute}
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[p.Delay(3)] = true
	}
	if len(seen) < 50 {
		t.Errorf("100 waits took %d distinct values", len(seen))
	}
}

func seq(from, to int) []int {
	var s []int
	for n := from; n <= to; n++ {
		s = append(s, n)
	}
	return s
}
