//go:build unix

package spawn

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockDir takes an exclusive flock(2) on dir, held for as long as the
// attempt that made it runs, and returns its release. The kernel releases
// it when the process dies, however it dies; the lock is not inherited by
// the job's processes. It returns an error when dir is locked already, or
// cannot be. A sweep of leftover directories skips those locked.
func LockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// SweepDirs removes the directories in parent ("": os.TempDir()) that
// attempts killed before they could remove them left behind. A directory
// is removed only when all of these hold: its name is one of prefixes
// followed by the digits os.MkdirTemp adds, it is a directory and not a
// link, it is owned by this process's user or by uid (the user the
// attempts ran as; -1 for none), it was last modified before before, and
// no live attempt holds its lock (LockDir) — so another runner sharing
// parent keeps its running attempts' directories. remove removes one (nil:
// os.RemoveAll). It returns the directories it removed; failures are
// skipped, there is another start to try again.
func SweepDirs(parent string, prefixes []string, before time.Time, uid int, remove func(string) error) []string {
	if parent == "" {
		parent = os.TempDir()
	}
	if remove == nil {
		remove = os.RemoveAll
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !madeTemp(e.Name(), prefixes) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !fi.ModTime().Before(before) {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || (int(st.Uid) != os.Geteuid() && int(st.Uid) != uid) {
			continue
		}
		unlock, err := LockDir(dir)
		if err != nil {
			continue // a live attempt's
		}
		if remove(dir) == nil {
			removed = append(removed, dir)
		}
		unlock()
	}
	return removed
}

// madeTemp reports whether name is what os.MkdirTemp makes of one of
// prefixes: the prefix, then digits.
func madeTemp(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if suffix, ok := strings.CutPrefix(name, p); ok && suffix != "" && strings.Trim(suffix, "0123456789") == "" {
			return true
		}
	}
	return false
}
