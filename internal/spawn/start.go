//go:build unix

package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperArg0 is the argv[0] under which a process of this binary is the
// rlimits helper rather than Conveyor.
const helperArg0 = "conveyor:rlimits"

// Start starts cmd as l says. cmd.SysProcAttr, when nil, becomes Group().
//
// The user is switched by the kernel at the fork (SysProcAttr.Credential).
// Resource limits are set with no window in which the program runs
// without them: with any limit, the child first runs this very binary
// (/proc/self/exe, or os.Executable) as a helper that lowers its own
// limits with setrlimit(2) — which any process may do, so the helper
// already runs as the target user and needs no capability — and then
// execs the program, which starts within them. (prlimit(2) on the child
// after an ordinary start would leave the program running unlimited for a
// moment, and on a process of another user it needs CAP_SYS_RESOURCE.)
// The helper is in this package's init, so it works from every binary
// that starts processes through it, test binaries included, and it costs
// one extra exec per process.
//
// Start returns the error of cmd.Start. Should the helper fail to set a
// limit or to exec the program, it says why on the child's stderr and
// exits with status 127.
func Start(cmd *exec.Cmd, l Limits) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = Group()
	}
	if l.Credential != nil {
		cmd.SysProcAttr.Credential = l.Credential
	}
	if !l.rlimited() {
		return cmd.Start()
	}
	self, err := helperPath()
	if err != nil {
		return err
	}
	args := []string{helperArg0,
		strconv.FormatUint(l.Memory, 10), strconv.FormatUint(l.CPUSeconds, 10), strconv.FormatUint(l.OpenFiles, 10),
		cmd.Path}
	cmd.Args = append(args, cmd.Args...)
	cmd.Path = self
	return cmd.Start()
}

// helperPath returns the path of this binary for the helper.
func helperPath() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}

func init() {
	if len(os.Args) >= 6 && os.Args[0] == helperArg0 {
		os.Exit(helper(os.Args[1:]))
	}
}

// helper is the rlimits helper: args are the memory, CPU seconds and open
// files limits (0: none), the program's path and its argv. It only returns
// on failure.
func helper(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "conveyor: "+format+"\n", a...)
		return 127
	}
	limits := []struct {
		name     string
		resource int
		extra    uint64 // the hard limit above the soft one
	}{
		{"memory", unix.RLIMIT_AS, 0},
		{"cpu_seconds", unix.RLIMIT_CPU, 1}, // SIGXCPU at the soft limit, SIGKILL a second later
		{"open_files", unix.RLIMIT_NOFILE, 0},
	}
	for i, lim := range limits {
		n, err := strconv.ParseUint(args[i], 10, 64)
		if err != nil {
			return fail("rlimits helper: bad %s %q", lim.name, args[i])
		}
		if n == 0 {
			continue
		}
		want := unix.Rlimit{Cur: n, Max: n + lim.extra}
		var cur unix.Rlimit
		if unix.Getrlimit(lim.resource, &cur) == nil && cur.Max < want.Max {
			// Only root may raise a hard limit: stay within the inherited one.
			want.Cur, want.Max = min(want.Cur, cur.Max), cur.Max
		}
		if err := unix.Setrlimit(lim.resource, &want); err != nil {
			return fail("set rlimit %s to %d: %v", lim.name, n, err)
		}
	}
	path, argv := args[3], args[4:]
	err := syscall.Exec(path, argv, os.Environ())
	return fail("exec %s: %v", path, err)
}
