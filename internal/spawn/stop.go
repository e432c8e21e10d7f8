//go:build unix

package spawn

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// DrainTimeout bounds how long the pipes of a child are still read once
// its process group is gone: a process that left the group (setsid) may
// hold them open for ever.
const DrainTimeout = 2 * time.Second

// killGroup sends sig to every process of the process group pgid. It
// returns nil also when the group no longer exists.
func killGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// DrainPipes waits for the readers of a child's pipes to finish, which
// closes done, for up to timeout: they end at EOF, once every process
// holding a write end has exited. Should a process out of reach still
// hold one then, DrainPipes closes the read ends, which ends the
// readers, and waits for them. It closes the read ends in every case.
func DrainPipes(done <-chan struct{}, timeout time.Duration, pipes ...*os.File) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	for _, f := range pipes {
		_ = f.Close()
	}
	<-done
}
