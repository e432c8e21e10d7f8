package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// What a runner gives the processes it starts, and what it says of
// itself: users and rlimits, resources (GPUs), labels.

// Rlimits are resource limits set on each process of an exec or worker
// algorithm (Linux). Zero means unlimited (inherited).
type Rlimits struct {
	// Memory caps the address space (RLIMIT_AS), e.g. 512MiB.
	Memory ByteSize `yaml:"memory"`
	// CPUSeconds caps the CPU time of one process (RLIMIT_CPU): past it
	// the process is killed (SIGXCPU, then SIGKILL).
	CPUSeconds int `yaml:"cpu_seconds"`
	// OpenFiles caps the file descriptors (RLIMIT_NOFILE).
	OpenFiles int `yaml:"open_files"`
}

// validateRunner checks the users, rlimits and resources of the entries,
// and the runner's resources and labels.
func (c *Config) validateRunner(add func(string, ...any)) {
	for i, a := range c.Algorithms {
		where := fmt.Sprintf("algorithms[%d]", i)
		if a.Name != "" {
			where += " (" + a.Name + ")"
		}
		// The user itself is looked up by the runner that starts the
		// processes: a gateway loading the same file need not have it.
		if (a.User != "" || a.Rlimits != Rlimits{}) && a.Kind != "exec" && a.Kind != "worker" {
			add("%s: user and rlimits apply to exec and worker algorithms only", where)
		}
		if a.Rlimits.Memory < 0 || a.Rlimits.CPUSeconds < 0 || a.Rlimits.OpenFiles < 0 {
			add("%s: rlimits must not be negative", where)
		}
		if len(a.Resources) > 0 && a.Kind != "worker" {
			add("%s: resources apply to worker algorithms only", where)
		}
		checkResources(where+".resources", a.Resources, add)
	}
	checkResources("resources", c.Resources, add)
	if err := conveyor.Requirements(c.Labels).Validate(); err != nil {
		add("labels: %s", strings.TrimPrefix(err.Error(), "requires: "))
	}
}

// Resources are the names of the resources a runner hands out.
var Resources = []string{"gpu"}

// checkResources reports unknown resource names and negative amounts.
func checkResources(where string, r map[string]int, add func(string, ...any)) {
	for name, n := range r {
		if !slices.Contains(Resources, name) {
			add("%s: unknown resource %q (known: %s)", where, name, strings.Join(Resources, ", "))
		}
		if n < 0 {
			add("%s.%s must not be negative", where, name)
		}
	}
}
