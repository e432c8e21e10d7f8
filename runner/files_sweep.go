//go:build unix

package runner

import (
	"os"
	"path/filepath"
	"strings"
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

// sweepFiles removes the directories of materialized files and artifacts in parent
// ("": os.TempDir()) that a runner killed mid-attempt left behind: named
// as materialize names them (the prefix and digits), directories and not links, owned by this user, last modified before
// before, and locked by no live attempt (another runner's on this machine
// holds its lock). It returns those it removed.
func sweepFiles(parent string, before time.Time) []string {
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		// Only what os.MkdirTemp makes of the prefix: digits after it.
		suffix, ok := strings.CutPrefix(e.Name(), filesPrefix)
		if !ok {
			suffix, ok = strings.CutPrefix(e.Name(), outputPrefix)
		}
		if !ok || suffix == "" || strings.Trim(suffix, "0123456789") != "" || !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !fi.ModTime().Before(before) {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			continue
		}
		unlock, err := lockFiles(dir)
		if err != nil {
			continue // a live attempt's
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
		unlock()
	}
	return removed
}
