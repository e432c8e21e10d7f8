package app

import (
	"os"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/config"
)

// TestKindKeys: each kind owns the keys of its entries beyond the common
// ones (runner.RegisterKind): a key its kind does not take is an error
// naming the key, the entry and what the kind takes — an exec entry with
// url: and idle_timeout: was accepted silently — and an unknown kind
// names the kinds there are. What the examples and the README's entries
// set, their kinds take.
func TestKindKeys(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"exec with http and worker keys": {"algorithms: [{name: x, kind: exec, command: [x], url: 'http://a', idle_timeout: 1m}]",
			"algorithms[0] (x): idle_timeout is not a key of kind exec"},
		"exec url":                     {"algorithms: [{name: x, kind: exec, command: [x], url: 'http://a'}]", "algorithms[0] (x): url is not a key of kind exec (it takes the common keys and these of its own: command, dir, env, user, rlimits)"},
		"http command":                 {"algorithms: [{name: h, kind: http, url: 'http://a', command: [x]}]", "command is not a key of kind http"},
		"go concurrency":               {"algorithms: [{kind: go, concurrency: 4}]", "concurrency is not a key of kind go (it takes the common keys and no keys of its own)"},
		"exec prefetch":                {"algorithms: [{name: x, kind: exec, command: [x], prefetch: 2}]", "prefetch is not a key of kind exec"},
		"exec batch":                   {"algorithms: [{kind: exec, command: [x], algorithms: {a: {batch: {max_size: 4}}}}]", "algorithms is not a key of kind exec"},
		"unknown kind":                 {"algorithms: [{kind: lambda}]", `unknown kind "lambda" (want exec, go, `},
		"pipeline max_steps on a kind": {"algorithms: [{kind: go, max_steps: 3}]", "max_steps is not a key of kind go"},
		"pipeline command":             {"algorithms: [{name: p, pipeline: [a], command: [x]}]", "algorithms[0] (p): command is not a key of a pipeline"},
		"pipeline kind":                {"algorithms: [{name: p, kind: go, pipeline: [a]}]", "algorithms[0] (p): a pipeline has no kind"},
		"worker concurrency":           {"algorithms: [{name: w, kind: worker, command: [x], concurrency: 0}]", "algorithms[0] (w): concurrency must be at least 1, not 0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	ok := `algorithms:
  - {kind: go, description: d, workers: {max: 2}, timeout: 1m, max_attempts: 2, max_queued: 10, grace: 1s}
  - {name: e, kind: exec, command: [x], dir: ., env: {A: b}, rlimits: {open_files: 64}}
  - {kind: worker, command: [x], concurrency: 2, prefetch: 0, idle_timeout: 1m, algorithms: {a: {batch: {max_size: 4}}}, resources: {gpu: 1}}
  - {name: h, kind: http, url: 'http://127.0.0.1:1'}
`
	if _, err := config.Parse([]byte(ok), nil); err != nil {
		t.Fatalf("entries of the kinds' own keys refused: %v", err)
	}
	data, err := os.ReadFile("../../examples/conveyor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(data, nil); err != nil {
		t.Fatalf("examples/conveyor.yaml: %v", err)
	}
}
