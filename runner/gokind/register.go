package gokind

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
)

// An Option configures an algorithm at Register.
type Option func(*options)

type options struct {
	description string
}

// Describe sets the algorithm's description: one or two sentences saying
// what it computes, published by the registry and the API docs. A config
// entry's `description:` overrides it.
func Describe(text string) Option {
	return func(o *options) { o.description = text }
}

// algorithm is one registered Go algorithm.
type algorithm struct {
	name        string
	description string
	input       json.RawMessage // JSON Schema of the input, from In
	output      json.RawMessage // JSON Schema of the output, from Out
	handler     runner.Handler
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*algorithm{}
)

// Register makes fn available as the Go algorithm name, to be served by any
// config entry of kind go that names it or names none. It is meant to be
// called once per algorithm at startup, typically from a package's Register
// function that main calls:
//
//	gokind.Register("is_prime", primes.IsPrime, gokind.Describe("Tells whether n is prime."))
//
// The input schema is derived from In, the output schema from Out, by
// reflection (see the package documentation for the rules). In is normally a
// struct: algorithm inputs are JSON objects. fn is called concurrently, once
// per running job, with a context that is canceled when the job is canceled,
// times out or its runner shuts down; fn must then return promptly.
//
// Register panics — these are programming errors — if name is not a valid
// algorithm name (conveyor.ValidateName), is already registered, fn is nil,
// a schema cannot be derived from In or Out, or In's schema is not of an
// object.
func Register[In, Out any](name string, fn func(context.Context, In) (Out, error), opts ...Option) {
	if err := conveyor.ValidateName(name); err != nil {
		panic("gokind: Register: " + err.Error())
	}
	if fn == nil {
		panic(fmt.Sprintf("gokind: Register(%q): nil function", name))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	a := &algorithm{
		name:        name,
		description: o.description,
		handler:     &handler[In, Out]{fn: fn},
	}
	var err error
	if a.input, err = inputSchema(reflect.TypeFor[In]()); err != nil {
		panic(fmt.Sprintf("gokind: Register(%q): input type %v: %v", name, reflect.TypeFor[In](), err))
	}
	// A stage that steers its pipeline (Out is conveyor.Routed) has no one
	// output type, so no output schema.
	if reflect.TypeFor[Out]() != reflect.TypeFor[conveyor.Routed]() {
		if a.output, err = reflectSchema(reflect.TypeFor[Out]()); err != nil {
			panic(fmt.Sprintf("gokind: Register(%q): output type %v: %v", name, reflect.TypeFor[Out](), err))
		}
	}

	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("gokind: algorithm %q registered twice", name))
	}
	registry[name] = a
}

// inputSchema derives the schema of In and checks that it describes an
// object (or anything, for an In like json.RawMessage) and that the gateway
// can compile it.
func inputSchema(t reflect.Type) (json.RawMessage, error) {
	raw, err := reflectSchema(t)
	if err != nil {
		return nil, err
	}
	var top struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	if top.Type != nil && top.Type != "object" {
		return nil, fmt.Errorf("its schema is of type %v; an algorithm's input is a JSON object, so use a struct", top.Type)
	}
	return raw, nil
}

// Registered returns the names of the registered Go algorithms, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// lookup returns the algorithm registered as name.
func lookup(name string) (*algorithm, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	a, ok := registry[name]
	return a, ok
}

// all returns every registered algorithm, sorted by name.
func all() []*algorithm {
	registryMu.RLock()
	defer registryMu.RUnlock()
	algs := slices.Collect(maps.Values(registry))
	slices.SortFunc(algs, func(a, b *algorithm) int { return strings.Compare(a.name, b.name) })
	return algs
}
