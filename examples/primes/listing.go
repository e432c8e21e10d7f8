package primes

import (
	"bufio"
	"context"
	"fmt"

	"github.com/conveyor-run/conveyor"
)

// ListInput is the input of list_primes.
type ListInput struct {
	Below int64 `json:"below" jsonschema:"minimum=2,maximum=100000000,description=list the primes below this"`
}

// Listing is the output of list_primes: how many primes there are below
// the bound, and the artifact that lists them.
type Listing struct {
	Count int64 `json:"count"`
	// File references the artifact primes.txt: once the job succeeds the
	// runner makes it a file reference ({"$file": id, "name", …}).
	File map[string]string `json:"file"`
}

// ListPrimes writes the primes below in.Below, one a line, as the job's
// artifact primes.txt (a sieve of Eratosthenes): an example of
// conveyor.CreateArtifact.
func ListPrimes(ctx context.Context, in ListInput) (Listing, error) {
	if in.Below < 2 || in.Below > 100_000_000 {
		return Listing{}, conveyor.Permanent(fmt.Errorf("below must be between 2 and 100000000, not %d", in.Below))
	}
	f, err := conveyor.CreateArtifact(ctx, "primes.txt")
	if err != nil {
		return Listing{}, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	composite := make([]bool, in.Below)
	var count int64
	for n := int64(2); n < in.Below; n++ {
		if composite[n] {
			continue
		}
		if count%(1<<16) == 0 && ctx.Err() != nil {
			return Listing{}, ctx.Err()
		}
		count++
		fmt.Fprintln(w, n)
		for m := n * n; m < in.Below; m += n {
			composite[m] = true
		}
	}
	if err := w.Flush(); err != nil {
		return Listing{}, err
	}
	if err := f.Close(); err != nil {
		return Listing{}, err
	}
	return Listing{Count: count, File: conveyor.ArtifactRef("primes.txt")}, nil
}
