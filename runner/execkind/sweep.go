//go:build unix

package execkind

import (
	"time"

	"github.com/conveyor-run/conveyor/internal/spawn"
)

// started is when this runner started, near enough: when the package was
// initialised. Attempt directories older than that are not this runner's.
var started = time.Now()

// tempPrefix is how the attempt directories of the algorithm name start;
// os.MkdirTemp adds digits.
func tempPrefix(name string) string { return "conveyor-" + name + "-" }

// lockDir locks an attempt directory for its attempt (see spawn.LockDir):
// the sweep skips it.
var lockDir = spawn.LockDir

// sweep removes the attempt directories of algorithm name in parent ("":
// os.TempDir()) that a runner killed before it could remove them left
// behind (conveyor-<name>-<digits>, owned by the runner's user or by uid,
// older than this runner, unlocked: see spawn.SweepDirs).
func sweep(parent, name string, uid int) []string {
	return spawn.SweepDirs(parent, []string{tempPrefix(name)}, started, uid, removeAll)
}
