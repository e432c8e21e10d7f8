//go:build unix

package runner

import (
	"syscall"
	"time"

	"github.com/conveyor-run/conveyor/internal/spawn"
)

// filesPrefix is how the directories of materialized files start,
// outputPrefix those of the attempts' artifacts.
const (
	filesPrefix  = "conveyor-files-"
	outputPrefix = "conveyor-out-"
)

// oNoFollow makes an open fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// lockFiles locks a directory of materialized files for its attempt (see
// spawn.LockDir): the sweep skips it.
var lockFiles = spawn.LockDir

// sweepFiles removes the directories of materialized files and artifacts
// in parent ("": os.TempDir()) that a runner killed mid-attempt left
// behind, last modified before before and unlocked (see spawn.SweepDirs).
func sweepFiles(parent string, before time.Time) []string {
	return spawn.SweepDirs(parent, []string{filesPrefix, outputPrefix}, before, -1, nil)
}
