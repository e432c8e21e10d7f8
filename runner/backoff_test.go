package runner

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		for range 100 {
			if d := retryDelay(time.Second, time.Minute, n); d < want/2 || d > want {
				t.Fatalf("retry %d: %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := retryDelay(time.Second, time.Minute, 1000); d > time.Minute || d < 30*time.Second {
		t.Fatalf("capped delay %v", d)
	}
}
