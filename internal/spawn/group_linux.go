//go:build linux

package spawn

import "syscall"

// Group returns attributes for a child in its own process group that the
// kernel kills (SIGKILL) when the runner dies, so a runner killed with
// SIGKILL leaves no worker or exec process behind.
//
// The kernel sends the signal when the thread that started the child
// exits; the Go runtime ends threads only under goroutines that exit locked
// to their thread, which Conveyor does not do.
func Group() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
