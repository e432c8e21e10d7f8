//go:build unix

package spawn

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// hangup asks a supervisor to kill its job at once, every process of it.
// It is also the supervisor's parent-death signal: a runner that dies,
// even by SIGKILL, takes its jobs with it. It is SIGHUP because that is a
// signal the Go runtime, until the supervisor asks for it, answers by
// dying — before the job is started, that is all there is to do.
const hangup = syscall.SIGHUP

// Process is a child Start started and, through it, every process the
// program starts. Its methods are safe for concurrent use.
type Process struct {
	cmd        *exec.Cmd
	supervised bool // the child is a supervisor (see Start)
}

// Pid returns the pid of the child: the supervisor's, on Linux.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the whole job. Under a supervisor, SIGKILL has the
// supervisor kill every process of the job, those that left its process
// group included, and any other signal goes to every one of them once;
// without one, sig goes to the program's process group. Signal returns
// nil also when the job is gone, and then does nothing.
func (p *Process) Signal(sig syscall.Signal) error {
	if !p.supervised {
		return killGroup(p.cmd.Process.Pid, sig)
	}
	if sig == syscall.SIGKILL {
		sig = hangup
	}
	// os.Process signals through a pidfd: never another process that
	// took the pid of a reaped supervisor.
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Stop stops the job, whose program's exit closes exited: it sends sig,
// waits up to grace for exited, and then kills the job (Signal(SIGKILL)).
// A sig of 0 sends nothing, for a caller that has already asked the
// program to stop another way (closed its input, say). Stop reports
// whether it had to kill. It does not wait for exited after the kill; the
// caller does, if it must.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration, exited <-chan struct{}) (killed bool) {
	if sig != 0 {
		_ = p.Signal(sig)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return false
	case <-timer.C:
	}
	_ = p.Signal(syscall.SIGKILL)
	return true
}
