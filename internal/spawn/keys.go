package spawn

import (
	"errors"

	"github.com/conveyor-run/conveyor/config"
)

// Options are the keys of an algorithm entry that say how to start its
// processes — command, dir, env, user, rlimits — which every kind that
// runs programs takes (exec, worker): each inlines Options in its own
// options (config.Algorithm.DecodeOptions), so the keys are written,
// checked and turned into a Command in one place, next to the code that
// starts the processes. The yaml keys are those of the README.
type Options struct {
	// Command is the program and its arguments, an argv run without a
	// shell.
	Command []string `yaml:"command,omitempty"`
	// Dir is the working directory of the processes. Default: the
	// runner's current directory.
	Dir string `yaml:"dir,omitempty"`
	// Env adds to or overrides the variables the processes inherit
	// (Inherited).
	Env map[string]string `yaml:"env,omitempty"`
	// User is the user the processes run as; the runner must be root to
	// switch. Default: the runner's own.
	User string `yaml:"user,omitempty"`
	// Rlimits limit each process.
	Rlimits Rlimits `yaml:"rlimits,omitempty"`
}

// Keys are the yaml keys of Options, for a kind's RegisterKind.
var Keys = []string{"command", "dir", "env", "user", "rlimits"}

// Rlimits are resource limits set on each process (Linux). Zero means
// unlimited (inherited).
type Rlimits struct {
	// Memory caps the address space (RLIMIT_AS), e.g. 512MiB.
	Memory config.ByteSize `yaml:"memory,omitempty"`
	// CPUSeconds caps the CPU time of one process (RLIMIT_CPU): past it
	// the process is killed (SIGXCPU, then SIGKILL).
	CPUSeconds int `yaml:"cpu_seconds,omitempty"`
	// OpenFiles caps the file descriptors (RLIMIT_NOFILE).
	OpenFiles int `yaml:"open_files,omitempty"`
}

// Check returns what is wrong with p that the config alone says, for a
// kind's config check (runner.Checker): negative rlimits. Whether the
// command, dir and user exist is for the runner that starts the processes
// to say (CommandOf): a gateway loading the same file need not have them.
func (p Options) Check() error {
	if r := p.Rlimits; r.Memory < 0 || r.CPUSeconds < 0 || r.OpenFiles < 0 {
		return errors.New("rlimits must not be negative")
	}
	return nil
}
