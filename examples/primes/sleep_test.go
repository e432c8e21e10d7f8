package primes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

func TestSleepSteps(t *testing.T) {
	tests := []struct {
		total time.Duration
		want  int
	}{
		{0, 1},
		{time.Millisecond, 1},
		{100 * time.Millisecond, 1},
		{101 * time.Millisecond, 2},
		{250 * time.Millisecond, 3},
		{time.Second, 10},
		{time.Hour, 100},
		{30 * time.Second, 100},
	}
	for _, tt := range tests {
		if got := sleepSteps(tt.total); got != tt.want {
			t.Errorf("sleepSteps(%v) = %d, want %d", tt.total, got, tt.want)
		}
	}
}

func TestSleep(t *testing.T) {
	r := &reporter{}
	ctx := conveyor.WithReporter(context.Background(), r)
	start := time.Now()
	out, err := Sleep(ctx, SleepInput{Seconds: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 250*time.Millisecond {
		t.Errorf("returned after %v, want at least 250ms", elapsed)
	}
	if out.Slept < 0.25 {
		t.Errorf("Slept = %v, want at least 0.25", out.Slept)
	}
	want := []conveyor.Progress{
		{Percent: 100.0 / 3, Message: "slept 83ms of 250ms"},
		{Percent: 200.0 / 3, Message: "slept 167ms of 250ms"},
		{Percent: 100, Message: "slept 250ms of 250ms"},
	}
	got := r.all()
	if len(got) != len(want) {
		t.Fatalf("progress %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("progress[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSleepZero(t *testing.T) {
	out, err := Sleep(context.Background(), SleepInput{})
	if err != nil || out.Slept > 0.1 {
		t.Fatalf("Sleep(0) = %+v, %v", out, err)
	}
}

func TestSleepFail(t *testing.T) {
	_, err := Sleep(context.Background(), SleepInput{Seconds: 0.01, Fail: "flaky backend"})
	if err == nil || err.Error() != "flaky backend" {
		t.Fatalf("error %v, want flaky backend", err)
	}
	if conveyor.IsPermanent(err) {
		t.Error("the requested failure is permanent; it should be retried")
	}
}

func TestSleepCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Sleep(ctx, SleepInput{Seconds: 3600})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep did not return after cancel")
	}
}

func TestSleepInvalid(t *testing.T) {
	for _, s := range []float64{-1, 3601} {
		if _, err := Sleep(context.Background(), SleepInput{Seconds: s}); !conveyor.IsPermanent(err) {
			t.Errorf("Sleep(%v): %v, want a permanent error", s, err)
		}
	}
}
