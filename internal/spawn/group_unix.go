//go:build unix && !linux

package spawn

import "syscall"

// Group returns attributes for a child in its own process group. Outside
// Linux there is no parent-death signal: a runner killed with SIGKILL
// leaves its children running.
func Group() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
