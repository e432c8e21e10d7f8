//go:build unix

package spawn

import (
	"os"
	"syscall"
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
