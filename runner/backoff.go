package runner

import (
	"math/rand/v2"
	"time"
)

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
