//go:build unix && !linux

package spawn

import (
	"os/exec"
	"syscall"
)

// startSupervised starts cmd in a process group of its own, as l says.
// Outside Linux there is no supervisor: no child subreaper and no
// parent-death signal, so a runner killed with SIGKILL leaves its
// children running, and a process that leaves the group escapes a stop.
func startSupervised(cmd *exec.Cmd, l Limits) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: l.Credential}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Process{cmd: cmd}, nil
}
