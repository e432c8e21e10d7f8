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

// KillGroup sends sig to every process of the process group pgid (a child
// started with Group leads a group whose id is its pid). It returns nil
// also when the group no longer exists.
func KillGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// StopGroup stops the process group pgid, whose leader's exit closes
// exited: it sends sig to the group, waits up to grace for exited, and
// then kills the group with SIGKILL. A sig of 0 sends nothing, for a
// caller that has already asked the process to stop another way (closed
// its input, say). StopGroup reports whether it had to kill. It does not
// wait for exited after the kill; the caller does, if it must.
func StopGroup(pgid int, sig syscall.Signal, grace time.Duration, exited <-chan struct{}) (killed bool) {
	if sig != 0 {
		_ = KillGroup(pgid, sig)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return false
	case <-timer.C:
	}
	_ = KillGroup(pgid, syscall.SIGKILL)
	return true
}

// DrainPipes waits for the readers of a child's pipes to finish, which
// closes done, for up to timeout: they end at EOF, once every process
// holding a write end has exited. Should a process outside the group
// still hold one then, DrainPipes closes the read ends, which ends the
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
