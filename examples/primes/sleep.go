package primes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/conveyor-run/conveyor"
)

// SleepInput is the input of sleep.
type SleepInput struct {
	Seconds float64 `json:"seconds" jsonschema:"minimum=0,maximum=3600,description=how long to sleep, in seconds"`
	Fail    string  `json:"fail,omitempty" jsonschema:"description=if set, fail with this message after sleeping"`
}

// SleepOutput is the output of sleep: how long it slept, in seconds.
type SleepOutput struct {
	Slept float64 `json:"slept"`
}

// Sleep limits.
const (
	maxSleep   = time.Hour
	maxSteps   = 100
	minStepLen = 100 * time.Millisecond
)

// Sleep sleeps for in.Seconds, in up to 100 steps of at least 100ms, and
// reports its progress after each step. Then it fails with the message
// in.Fail if that is set (each attempt of the job sleeps again, which makes
// it a demo of retries), or else returns how long it slept.
//
// It returns ctx.Err() as soon as ctx is done, and a permanent error when
// in.Seconds is outside [0, 3600] (which the input schema excludes).
func Sleep(ctx context.Context, in SleepInput) (SleepOutput, error) {
	if in.Seconds < 0 || in.Seconds > maxSleep.Seconds() || math.IsNaN(in.Seconds) {
		return SleepOutput{}, conveyor.Permanent(fmt.Errorf("seconds must be between 0 and %v, not %v", maxSleep.Seconds(), in.Seconds))
	}
	total := time.Duration(in.Seconds * float64(time.Second))
	steps := sleepSteps(total)
	if err := ctx.Err(); err != nil {
		return SleepOutput{}, err
	}
	start := time.Now()
	for i := 1; i <= steps; i++ {
		// Aim each step at its point on the whole span so steps do not drift.
		done := total * time.Duration(i) / time.Duration(steps)
		t := time.NewTimer(time.Until(start.Add(done)))
		select {
		case <-ctx.Done():
			t.Stop()
			return SleepOutput{}, ctx.Err()
		case <-t.C:
		}
		conveyor.SetProgress(ctx, 100*float64(i)/float64(steps),
			fmt.Sprintf("slept %v of %v", done.Round(time.Millisecond), total.Round(time.Millisecond)))
	}
	if in.Fail != "" {
		return SleepOutput{}, errors.New(in.Fail)
	}
	slept := time.Since(start).Round(time.Millisecond)
	return SleepOutput{Slept: slept.Seconds()}, nil
}

// sleepSteps returns into how many steps Sleep divides total: one per
// minStepLen, at most maxSteps, at least one.
func sleepSteps(total time.Duration) int {
	n := int((total + minStepLen - 1) / minStepLen)
	return max(1, min(maxSteps, n))
}
