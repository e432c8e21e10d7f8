//go:build unix

package workerkind

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

// TestConfigKeys: a worker entry's own keys are the kind's — decoded from
// what the file says and checked as the config loads, in any process
// that loads it — and a bad one is an error naming it and the entry, in
// the words config used when they were its keys.
func TestConfigKeys(t *testing.T) {
	c, err := config.Parse([]byte(`
algorithms:
  - kind: worker
    command: [python3, -m, conveyor.worker, mymodule]
    workers: {min: 1, max: 2}
    idle_timeout: 90s
    concurrency: 4
    prefetch: 0
    resources: {gpu: 1}
    algorithms:
      classify: {timeout: 1m, max_attempts: 5, description: Classifies.}
      embed: {batch: {max_size: 64, max_wait: 5ms}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Algorithms[0]
	var opt Options
	if err := w.DecodeOptions(&opt); err != nil {
		t.Fatal(err)
	}
	if w.Name != "" || w.Workers.Min != 1 || opt.IdleTimeout.Std() != 90*time.Second || opt.jobsEach() != 4 || opt.jobsAhead() != 0 ||
		opt.Resources["gpu"] != 1 || opt.Process.Command[3] != "mymodule" {
		t.Errorf("entry: %+v, options %+v", w, opt)
	}
	want := AlgorithmSettings{Timeout: conveyor.Duration(time.Minute), MaxAttempts: 5, Description: "Classifies."}
	if got := opt.Algorithms["classify"]; got != want {
		t.Errorf("algorithms.classify = %+v, want %+v", got, want)
	}
	if b := opt.Algorithms["embed"].Batch; b == nil || b.MaxSize != 64 || b.MaxWait == nil || b.MaxWait.Std() != 5*time.Millisecond {
		t.Errorf("algorithms.embed.batch = %+v", b)
	}
	// Entry writes what DecodeOptions reads; prefetch: 0 stays set.
	var back Options
	written := Entry(config.Algorithm{}, opt)
	if err := written.DecodeOptions(&back); err != nil || back.jobsAhead() != 0 || back.jobsEach() != 4 ||
		back.Algorithms["embed"].Batch.MaxWait.Std() != 5*time.Millisecond || back.IdleTimeout != opt.IdleTimeout {
		t.Errorf("Entry then DecodeOptions: %+v %v", back, err)
	}

	for name, tc := range map[string]struct{ yaml, want string }{
		"bad settings": {"algorithms: [{kind: worker, command: [w], algorithms: {Bad: {}}}]", "algorithms[0]: algorithms: invalid algorithm name"},
		"bad attempts": {"algorithms: [{kind: worker, command: [w], algorithms: {a: {max_attempts: -1}}}]", "algorithms.a.max_attempts must not be negative"},
		"batch size":   {"algorithms: [{kind: worker, command: [w], algorithms: {a: {batch: {max_size: 2000}}}}]", "algorithms.a.batch.max_size must be between 1 and 1024"},
		"batch wait":   {"algorithms: [{kind: worker, command: [w], algorithms: {a: {batch: {max_wait: -1s}}}}]", `invalid duration "-1s": negative`},
		"batch key":    {"algorithms: [{kind: worker, command: [w], algorithms: {a: {batch: {size: 2}}}}]", "algorithms[0]: algorithms: field size not found"},
		"negative gpu": {"algorithms: [{kind: worker, command: [w], resources: {gpu: -1}}]", "algorithms[0]: resources.gpu must not be negative"},
		"unknown res":  {"algorithms: [{kind: worker, command: [w], resources: {tpu: 1}}]", `algorithms[0]: resources: unknown resource "tpu" (known: gpu)`},
		"concurrency":  {"algorithms: [{name: x, kind: worker, command: [w], concurrency: 0}]", "algorithms[0] (x): concurrency must be at least 1, not 0"},
		"prefetch":     {"algorithms: [{kind: worker, command: [w], prefetch: -1}]", "algorithms[0]: prefetch must not be negative, not -1"},
		"rlimits":      {"algorithms: [{kind: worker, command: [w], rlimits: {open_files: -1}}]", "algorithms[0]: rlimits must not be negative"},
		"idle timeout": {"algorithms: [{kind: worker, command: [w], idle_timeout: soon}]", "algorithms[0]: idle_timeout: invalid duration"},
		"typo":         {"algorithms: [{kind: worker, command: [w], concurency: 2}]", "algorithms[0]: concurency is not a key of kind worker"},
	} {
		if _, err := config.Parse([]byte(tc.yaml), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
}
