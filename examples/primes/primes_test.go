package primes

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

func TestIsPrime(t *testing.T) {
	tests := []struct {
		n     int64
		prime bool
	}{
		{0, false},
		{1, false},
		{2, true},
		{3, true},
		{4, false},
		{9, false},
		{25, false},
		{561, false},  // Carmichael
		{7919, true},  // the 1000th prime
		{65537, true}, // Fermat
		{1 << 31, false},
		{2147483647, true},         // 2^31-1
		{32416190071, true},        // from the seed's tests
		{32416190073, false},       // divisible by 3
		{999983 * 1000003, false},  // two primes near 10^6
		{1000003 * 1000003, false}, // a prime's square: the last divisor is sqrt(n)
		{999999999989, true},       // largest prime below 10^12
	}
	for _, tt := range tests {
		got, err := IsPrime(context.Background(), Input{N: tt.n})
		if err != nil {
			t.Errorf("IsPrime(%d): %v", tt.n, err)
			continue
		}
		if got != (Output{N: tt.n, Prime: tt.prime}) {
			t.Errorf("IsPrime(%d) = %+v, want prime=%v", tt.n, got, tt.prime)
		}
		if want := big.NewInt(tt.n).ProbablyPrime(20); want != tt.prime {
			t.Errorf("table says %d prime=%v, math/big says %v", tt.n, tt.prime, want)
		}
	}
}

func TestIsPrimeAgreesWithMathBig(t *testing.T) {
	for n := range int64(20000) {
		got, err := IsPrime(context.Background(), Input{N: n})
		if err != nil {
			t.Fatal(err)
		}
		if want := big.NewInt(n).ProbablyPrime(20); got.Prime != want {
			t.Fatalf("IsPrime(%d) = %v, want %v", n, got.Prime, want)
		}
	}
}

func TestIsPrimeNegative(t *testing.T) {
	_, err := IsPrime(context.Background(), Input{N: -7})
	if err == nil || !conveyor.IsPermanent(err) {
		t.Fatalf("IsPrime(-7) error = %v, want a permanent error", err)
	}
}

// largePrime is the largest prime below 2^63: testing it takes 1.5 billion
// divisions, seconds of work.
const largePrime = 9223372036854775783

func TestIsPrimeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := IsPrime(ctx, Input{N: largePrime}); !errors.Is(err, context.Canceled) {
		t.Fatalf("IsPrime with a canceled context: %v, want context.Canceled", err)
	}
}

func TestIsPrimeCanceledWhileRunning(t *testing.T) {
	r := &reporter{first: make(chan struct{})}
	ctx, cancel := context.WithCancel(conveyor.WithReporter(context.Background(), r))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := IsPrime(ctx, Input{N: largePrime})
		done <- err
	}()
	select {
	case <-r.first: // it is running and has reported progress
	case err := <-done:
		t.Fatalf("IsPrime returned %v before reporting progress", err)
	case <-time.After(30 * time.Second):
		t.Fatal("IsPrime reported no progress within 30s")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("IsPrime canceled while running: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("IsPrime did not return within 30s of its cancel")
	}
	if p := r.last(); p.Percent <= 0 || p.Percent >= 100 || p.Message == "" {
		t.Errorf("last progress %+v, want between 0 and 100 with a message", p)
	}
}

func BenchmarkIsPrime(b *testing.B) {
	for _, n := range []int64{32416190071, 999999999989, 999999999999989} {
		b.Run(big.NewInt(n).String(), func(b *testing.B) {
			for b.Loop() {
				if out, err := IsPrime(context.Background(), Input{N: n}); err != nil || !out.Prime {
					b.Fatal(out, err)
				}
			}
		})
	}
}

// reporter records progress and signals the first report.
type reporter struct {
	mu       sync.Mutex
	first    chan struct{}
	progress []conveyor.Progress
	logs     []string
}

func (r *reporter) Progress(percent float64, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, conveyor.Progress{Percent: percent, Message: message})
	if len(r.progress) == 1 && r.first != nil {
		close(r.first)
	}
}

func (r *reporter) Log(stream, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, line)
}

func (r *reporter) last() conveyor.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.progress) == 0 {
		return conveyor.Progress{}
	}
	return r.progress[len(r.progress)-1]
}

func (r *reporter) all() []conveyor.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]conveyor.Progress(nil), r.progress...)
}
