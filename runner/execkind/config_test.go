//go:build unix

package execkind

import (
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/config"
)

// TestConfigKeys: an exec entry's own keys are the kind's — decoded from
// what the file says and checked as the config loads — and a key that is
// not one, or a bad value of one, is an error naming it and the entry.
func TestConfigKeys(t *testing.T) {
	c, err := config.Parse([]byte(`algorithms:
  - name: a
    kind: exec
    command: [python3, job.py]
    dir: /srv
    env: {PYTHON_VERSION: 3.10, MODE: fast}
    user: nobody
    rlimits: {memory: 512MiB, cpu_seconds: 600}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var opt Options
	if err := c.Algorithms[0].DecodeOptions(&opt); err != nil {
		t.Fatal(err)
	}
	if opt.Command[1] != "job.py" || opt.Dir != "/srv" || opt.Env["PYTHON_VERSION"] != "3.10" || opt.User != "nobody" ||
		opt.Rlimits.Memory != 512<<20 || opt.Rlimits.CPUSeconds != 600 {
		t.Errorf("options: %+v", opt)
	}
	if back := Entry(config.Algorithm{Name: "a"}, opt); back.Kind != "exec" || len(back.Options) != 5 {
		t.Errorf("Entry: %+v", back)
	}

	for yaml, want := range map[string]string{
		"algorithms: [{name: a, kind: exec, command: [x], rlimits: {cpu_seconds: -1}}]": "algorithms[0] (a): rlimits must not be negative",
		"algorithms: [{name: a, kind: exec, command: [x], rlimits: {memroy: 1}}]":       "algorithms[0] (a): rlimits: field memroy not found",
		"algorithms: [{name: a, kind: exec, command: x}]":                               "algorithms[0] (a): command: cannot unmarshal !!str `x` into []string",
		"algorithms: [{name: a, kind: exec, command: [x], resources: {gpu: 1}}]":        "algorithms[0] (a): resources is not a key of kind exec",
	} {
		if _, err := config.Parse([]byte(yaml), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", yaml, err, want)
		}
	}
}
