package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

// greeter is a runner kind made outside package config, as a new kind is:
// one package (here, this file) and one RegisterKind. Its entries take a
// key of its own, greeting, which config has no field for: the entry keeps
// it among its Options and the kind decodes it.
type greeter struct{}

type greeterOptions struct {
	Greeting string `yaml:"greeting"`
}

func (greeter) Provision(_ context.Context, entry config.Algorithm) ([]runner.Served, error) {
	var opt greeterOptions
	if err := entry.DecodeOptions(&opt); err != nil {
		return nil, err
	}
	greet := runner.HandlerFunc(func(_ context.Context, t *runner.Task) (json.RawMessage, error) {
		var in struct{ Name string }
		if err := json.Unmarshal(t.Input, &in); err != nil {
			return nil, err
		}
		return json.Marshal(opt.Greeting + ", " + in.Name)
	})
	return []runner.Served{{Algorithm: conveyor.Algorithm{Name: entry.Name, Kind: "greeter", InputSchema: conveyor.AnyObjectSchema}, Handler: greet}}, nil
}

func init() { runner.RegisterKind("greeter", greeter{}, "greeting") }

// TestNewKindOwnsItsKeys: a kind declared outside config takes keys of its
// own from a YAML entry and serves jobs with them; a key no kind takes —
// a typo among the common keys, too — is refused, naming it.
func TestNewKindOwnsItsKeys(t *testing.T) {
	cfg, err := config.Parse([]byte("algorithms:\n  - {name: hello, kind: greeter, greeting: Bonjour, workers: {max: 1}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "hello", "input": map[string]any{"name": "Ada"}}, "?wait=20s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || string(j.Output) != `"Bonjour, Ada"` {
		t.Fatalf("job: %s %s", j.Status, j.Output)
	}

	for yaml, want := range map[string]string{
		"algorithms: [{name: hello, kind: greeter, greting: Hi}]":               "algorithms[0] (hello): greting is not a key of kind greeter (it takes the common keys and these of its own: greeting)",
		"algorithms: [{name: e, kind: exec, command: [x], timout: 5s}]":         "algorithms[0] (e): timout is not a key of kind exec",
		"algorithms: [{name: p, pipeline: [a, b], greeting: Hi}]":               "algorithms[0] (p): greeting is not a key of a pipeline",
		"algorithms: [{name: hello, kind: greeter, greeting: {not: a string}}]": "greeting: cannot unmarshal !!map into string",
	} {
		cfg, err := config.Parse([]byte(yaml), nil)
		if err == nil && strings.Contains(yaml, "not: a string") {
			// Decoded by the kind, not by config: refused at Provision.
			cfg.HTTP.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
			_, err = greeter{}.Provision(t.Context(), cfg.Algorithms[0])
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", yaml, err, want)
		}
	}
}
