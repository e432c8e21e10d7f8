// Package primes holds Conveyor's built-in example algorithms, the ones
// `conveyor serve` serves when it is given no config file:
//
//   - is_prime (IsPrime) tells whether a number is prime: a short,
//     CPU-bound job, the typical synchronous call;
//   - sleep (Sleep) sleeps while reporting progress, and fails on request:
//     a long job to watch, cancel and retry;
//   - factorize and render are the Go stages of the number_facts pipeline,
//     whose middle stage, describe, is Python.
//
// They are plain Go functions with typed input and output, served by the go
// runner kind (package gokind) once Register has been called.
package primes

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

var registerOnce sync.Once

// Register registers the example algorithms with the go runner kind as
// is_prime, sleep, factorize and render. The program calls it once at startup; later calls do
// nothing.
func Register() {
	registerOnce.Do(func() {
		gokind.Register("is_prime", IsPrime,
			gokind.Describe("Tells whether n is a prime number, by trial division."))
		gokind.Register("sleep", Sleep,
			gokind.Describe("Sleeps, reporting progress: a demo of long jobs, progress and cancel."))
		gokind.Register("factorize", Factorize,
			gokind.Describe("Splits n into prime factors; for a prime, ends its pipeline at once."))
		gokind.Register("render", Render,
			gokind.Describe("Writes the facts about a number as one line."))
		gokind.Register("list_primes", ListPrimes,
			gokind.Describe("Lists the primes below a bound as the artifact primes.txt."))
	})
}

// Input is the input of is_prime.
type Input struct {
	N int64 `json:"n" jsonschema:"minimum=0,description=the number to test"`
}

// Output is the output of is_prime: the number tested and whether it is
// prime.
type Output struct {
	N     int64 `json:"n"`
	Prime bool  `json:"prime"`
}

// checkEvery is how many trial divisions IsPrime makes between looks at its
// context: about a millisecond of work.
const checkEvery = 1 << 20

// IsPrime tells whether in.N is prime, by the trial division of
// prime_server's demo — every divisor d from 2 while d < n/d — so that it
// does the same work as the peers it is measured against (bench/sync.sh).
// That takes up to 3 billion divisions (seconds) for a prime near 2^63, so
// every checkEvery divisions it reports progress and looks at ctx.
//
// It returns ctx.Err() when ctx is done before it has the answer, and a
// permanent error for a negative N (which the input schema excludes).
func IsPrime(ctx context.Context, in Input) (Output, error) {
	n := in.N
	out := Output{N: n}
	switch {
	case n < 0:
		return out, conveyor.Permanent(fmt.Errorf("n must be at least 0, not %d", n))
	case n < 2:
		return out, nil
	}
	p := uint64(n)
	divisor, high := uint64(2), p
	for i := 1; divisor < high; i++ {
		if p%divisor == 0 {
			return out, nil
		}
		high = p / divisor
		divisor++
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			limit := math.Sqrt(float64(p))
			conveyor.SetProgress(ctx, min(100, 100*float64(divisor)/limit), fmt.Sprintf("tried divisors up to %d", divisor))
		}
	}
	out.Prime = true
	return out, nil
}
