package primes

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// The stages of the number_facts pipeline (examples/conveyor.yaml):
// factorize (Go) → describe (Python, examples/python/describe.py) →
// render (Go). factorize ends the job early for a prime: there is nothing
// to describe.

// FactorizeInput is the input of factorize, and of number_facts.
type FactorizeInput struct {
	N int64 `json:"n" jsonschema:"minimum=2,maximum=1000000000000,description=the number to factorize"`
}

// Factors is the output of factorize: n and its prime factors, smallest
// first, repeated as often as they divide n.
type Factors struct {
	N       int64   `json:"n"`
	Factors []int64 `json:"factors"`
}

// Factorize splits in.N into prime factors by trial division. For a prime
// it returns the pipeline's final output at once, through conveyor.Final.
func Factorize(ctx context.Context, in FactorizeInput) (conveyor.Routed, error) {
	if in.N < 2 {
		return conveyor.Routed{}, conveyor.Permanent(fmt.Errorf("n must be at least 2, not %d", in.N))
	}
	var factors []int64
	n := in.N
	for d := int64(2); d <= n/d; d++ {
		if d%(1<<16) == 0 && ctx.Err() != nil {
			return conveyor.Routed{}, ctx.Err()
		}
		for n%d == 0 {
			factors = append(factors, d)
			n /= d
		}
	}
	if n > 1 {
		factors = append(factors, n)
	}
	if len(factors) == 1 {
		return conveyor.Final(Facts{N: in.N, Prime: true, Summary: fmt.Sprintf("%d is prime", in.N)}), nil
	}
	return conveyor.Routed{Output: Factors{N: in.N, Factors: factors}}, nil
}

// Description is the output of the describe stage: what the divisors of n
// say about it.
type Description struct {
	N        int64   `json:"n"`
	Factors  []int64 `json:"factors"`
	Divisors int     `json:"divisors" jsonschema:"description=how many divisors n has"`
	Kind     string  `json:"kind" jsonschema:"enum=perfect,enum=abundant,enum=deficient"`
}

// Facts is the output of render, and of number_facts.
type Facts struct {
	N       int64  `json:"n"`
	Prime   bool   `json:"prime"`
	Summary string `json:"summary"`
}

// Render writes a description as one line: "28 = 2 × 2 × 7: 6 divisors, perfect".
func Render(_ context.Context, in Description) (Facts, error) {
	parts := make([]string, len(in.Factors))
	for i, f := range in.Factors {
		parts[i] = strconv.FormatInt(f, 10)
	}
	return Facts{N: in.N, Summary: fmt.Sprintf("%d = %s: %d divisors, %s", in.N, strings.Join(parts, " × "), in.Divisors, in.Kind)}, nil
}
