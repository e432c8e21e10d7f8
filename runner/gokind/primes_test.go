package gokind_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/examples/primes"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/gokind"
	"github.com/conveyor-run/conveyor/schema"
)

// TestPrimes serves the built-in examples as `conveyor serve` does with no
// config, and checks their schemas with the validator the gateway uses.
func TestPrimes(t *testing.T) {
	primes.Register()
	primes.Register() // later calls do nothing

	served, err := gokind.Kind{}.Provision(context.Background(), config.Algorithm{Kind: "go"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]runner.Served{}
	for _, s := range served {
		byName[s.Algorithm.Name] = s
	}
	isPrime, ok := byName["is_prime"]
	if !ok || byName["sleep"].Handler == nil {
		t.Fatalf("served %v, want is_prime and sleep", slices.Sorted(maps.Keys(byName)))
	}

	const want = `{"$schema":"https://json-schema.org/draft/2020-12/schema",` +
		`"properties":{"n":{"type":"integer","minimum":0,"description":"the number to test"}},` +
		`"additionalProperties":false,"type":"object","required":["n"]}`
	if got := string(isPrime.Algorithm.InputSchema); got != want {
		t.Errorf("is_prime input schema\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(byName["sleep"].Algorithm.Description, "progress and cancel") {
		t.Errorf("sleep description %q", byName["sleep"].Algorithm.Description)
	}

	s, err := schema.Compile(isPrime.Algorithm.InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		input string
		want  []conveyor.Violation
	}{
		{`{"n":7}`, nil},
		{`{"n":32416190071}`, nil},
		{`{"n":-1}`, []conveyor.Violation{{Pointer: "/n", Message: "minimum: got -1, want 0"}}},
		{`{}`, []conveyor.Violation{{Pointer: "", Message: `missing property "n"`}}},
		{`{"n":7,"m":1}`, []conveyor.Violation{{Pointer: "/m", Message: `property "m" not allowed`}}},
	}
	for _, tt := range tests {
		err := s.Validate(json.RawMessage(tt.input))
		var got []conveyor.Violation
		if err != nil {
			e, ok := err.(*conveyor.Error)
			if !ok {
				t.Fatalf("Validate(%s): %T %v", tt.input, err, err)
			}
			got = e.Details
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Validate(%s) = %v, want %v", tt.input, got, tt.want)
		}
	}

	out, err := isPrime.Handler.Run(context.Background(), &runner.Task{Input: json.RawMessage(`{"n":32416190071}`)})
	if err != nil || string(out) != `{"n":32416190071,"prime":true}` {
		t.Errorf("is_prime(32416190071) = %s, %v", out, err)
	}
}
