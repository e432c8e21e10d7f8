package runner

import (
	"testing"
	"time"
)

// TestRetryBackoff pins the retry schedule of jobs the README documents:
// 1 s, 2 s, 4 s … capped at 5 min, each jittered within its upper half.
func TestRetryBackoff(t *testing.T) {
	steps := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for n, step := range steps {
		want := step * time.Second
		for range 100 {
			if d := retryBackoff.Delay(n); d < want/2 || d > want {
				t.Fatalf("retry %d: %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := retryBackoff.Delay(1000); d > 5*time.Minute || d < 150*time.Second {
		t.Fatalf("capped delay %v", d)
	}
}

// TestThrottle: a repeated complaint is let through once per period,
// saying how many came since the last one let through.
func TestThrottle(t *testing.T) {
	th := throttle{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := th.due(t0); !ok || n != 1 {
		t.Fatalf("first: %d %v", n, ok)
	}
	for i := 1; i <= 80; i++ {
		if _, ok := th.due(t0.Add(time.Duration(i) * 100 * time.Millisecond)); ok {
			t.Fatalf("let through %d within the period", i)
		}
	}
	if n, ok := th.due(t0.Add(10 * time.Second)); !ok || n != 81 {
		t.Fatalf("after the period: %d %v, want 81 true", n, ok)
	}
}
