// Package backoff computes the waits of retry loops: exponential from a
// base up to a cap, jittered so that the many clients a shared failure
// hits (jobs, gateways, runners) do not all retry at the same instants.
//
// Every retry loop of Conveyor uses it with its own base and cap, so they
// all have one shape: the wait before retry n (counted from 0) is drawn
// uniformly from the upper half of its ceiling, min(Max, Base·2ⁿ). Taking
// only the upper half (rather than "full jitter" over [0, ceiling]) keeps
// the schedule a caller documents — "1 s, 2 s, 4 s …" — true within a
// factor of two and never retries at once: the waits still grow
// exponentially, and no draw is near zero.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff with jitter. The zero Policy never
// waits. It is a value with no state: the caller counts its retries.
type Policy struct {
	// Base is the ceiling of the first wait (retry 0); it doubles with
	// each retry. A Base of zero or less makes every wait zero.
	Base time.Duration
	// Max caps the ceiling. A Max of zero or less means no cap but the
	// largest time.Duration; a Max below Base caps Base too.
	Max time.Duration
}

// Delay returns the wait before retry n, counted from 0 (a negative n
// counts as 0): a uniformly random duration in [c - c/2, c], where c is
// min(Max, Base·2ⁿ). It is safe for concurrent use and never overflows,
// however large n is.
func (p Policy) Delay(n int) time.Duration {
	c := p.ceiling(n)
	return c - rand.N(c/2+1)
}

// ceiling is min(Max, Base·2ⁿ) computed without overflow.
func (p Policy) ceiling(n int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	limit := p.Max
	if limit <= 0 {
		limit = math.MaxInt64
	}
	d := min(p.Base, limit)
	for range n {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return d
}
