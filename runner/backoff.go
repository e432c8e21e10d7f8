package runner

import (
	"math/rand/v2"
	"time"
)

// backoff yields exponentially growing delays with full jitter.
type backoff struct {
	base, max time.Duration
	n         int
}

func newBackoff(base, max time.Duration) *backoff { return &backoff{base: base, max: max} }

func (b *backoff) next() time.Duration {
	d := retryDelay(b.base, b.max, b.n)
	b.n++
	return d
}

func (b *backoff) reset() { b.n = 0 }

// retryDelay is the delay before retry number n (0-based): base·2ⁿ capped at
// max, then jittered uniformly within its upper half so that jobs failing
// together do not retry together.
func retryDelay(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(half+1)
}
