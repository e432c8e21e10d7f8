package gokind

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

// KindName is the value of a config entry's `kind:` key that selects Go
// algorithms.
const KindName = "go"

func init() { runner.RegisterKind(KindName, Kind{}) }

// Kind is the go runner kind: it serves the Go algorithms registered with
// Register, in the runner's process. The zero Kind is ready to use.
type Kind struct{}

// Provision returns the Go algorithms a config entry serves: every
// registered one when the entry has no name, else the one it names. Each is
// published with the schemas derived from its types, the description given
// to Register (unless the entry has its own), and the entry's timeout and
// max_attempts.
//
// It returns an error when the entry names an algorithm that is not
// registered, when no algorithm is registered at all, or when the entry sets
// fields that have no meaning for Go algorithms (command, dir, env,
// input_schema, output_schema, or a description without a name).
func (Kind) Provision(ctx context.Context, e config.Algorithm) ([]runner.Served, error) {
	if err := check(e); err != nil {
		return nil, err
	}
	var algs []*algorithm
	if e.Name == "" {
		algs = all()
		if len(algs) == 0 {
			return nil, fmt.Errorf("no Go algorithm is registered: the program must register some with gokind.Register before it starts the runner")
		}
	} else {
		a, ok := lookup(e.Name)
		if !ok {
			return nil, fmt.Errorf("no Go algorithm named %q is registered (registered: %s)", e.Name, registeredList())
		}
		algs = []*algorithm{a}
	}

	served := make([]runner.Served, len(algs))
	for i, a := range algs {
		desc := a.description
		if e.Description != "" {
			desc = e.Description
		}
		served[i] = runner.Served{
			Algorithm: conveyor.Algorithm{
				Name:         a.name,
				Description:  desc,
				Kind:         KindName,
				InputSchema:  bytes.Clone(a.input),
				OutputSchema: bytes.Clone(a.output),
				Timeout:      e.Timeout,
				MaxAttempts:  e.MaxAttempts,
			},
			Handler: a.handler,
		}
	}
	return served, nil
}

// check returns an error naming every key of e that Go algorithms do not
// use: any of a kind's own (Options), and schemas.
func check(e config.Algorithm) error {
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(e.Options)) { // command, dir, env…: the keys of other kinds
		problems = append(problems, key+" is not used: Go algorithms run inside the runner")
	}
	if e.InputSchema != nil || e.OutputSchema != nil {
		problems = append(problems, "input_schema and output_schema are not used: Go algorithms take their schema from the handler's input and output types")
	}
	if e.Name == "" && e.Description != "" {
		problems = append(problems, "description needs a name: an entry without one serves every Go algorithm, each with its own description")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("kind go: %s", strings.Join(problems, "; "))
}

// registeredList lists the registered names for an error message.
func registeredList() string {
	names := Registered()
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Interface guards.
var (
	_ runner.Kind    = Kind{}
	_ runner.Handler = (*handler[struct{}, struct{}])(nil)
)
