//go:build unix

package execkind

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
// behind. A directory is removed only when all of these hold: its name is
// this algorithm's (conveyor-<name>-<digits>), it is a directory and not
// a link, it is owned by the runner's user or by uid (the user the
// algorithm runs as, -1 for none), it was last modified before this
// runner started, and no live attempt holds its lock (see lockDir) — so
// another runner sharing the directory keeps its running attempts'
// directories. It returns the directories it removed; failures are
// skipped, there is another start to try again.
func sweep(parent, name string, uid int) []string {
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), tempPrefix(name))
		if !ok || !e.IsDir() || suffix == "" || strings.Trim(suffix, "0123456789") != "" {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !fi.ModTime().Before(started) {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || (int(st.Uid) != os.Geteuid() && int(st.Uid) != uid) {
			continue
		}
		unlock, err := lockDir(dir)
		if err != nil {
			continue // a live attempt's
		}
		if removeAll(dir) == nil {
			removed = append(removed, dir)
		}
		unlock()
	}
	return removed
}
