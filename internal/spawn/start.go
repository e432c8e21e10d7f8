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

// Start starts cmd as l says and returns the handle through which the
// caller signals it; the caller still waits for it with cmd.Wait.
// cmd.SysProcAttr is ignored.
//
// On Linux the child is a supervisor — this very binary again, as for the
// rlimits below — that starts cmd's program in a process group of its own
// and keeps every process the program starts within its reach, even one
// that calls setsid or double-forks, by being their child subreaper. It
// dies with the runner (a parent-death signal), and kills all of them
// with SIGKILL when the runner dies, when the runner kills the job (see
// Process), and when the program exits. The supervisor exits as the
// program did, so cmd.Wait and cmd.ProcessState say how the program
// ended (a core dump is not reported). Elsewhere the child is the program
// itself in its own process group, and only the group is in reach.
//
// The user is switched by the kernel at the fork of the program.
// Resource limits are set with no window in which the program runs
// without them: with any limit, the program is started through this
// binary as a helper (argv[0] conveyor:rlimits) that lowers its own limits
// with setrlimit(2) — which any process may do, so the helper already runs
// as the target user and needs no capability — and then execs the
// program, which starts within them. (prlimit(2) on the child after an
// ordinary start would leave the program running unlimited for a moment,
// and on a process of another user it needs CAP_SYS_RESOURCE.)
//
// Both helpers are in this package's init, so they work from every binary
// that starts processes through it, test binaries included. They cost an
// exec each per process, and the supervisor some memory (a few MiB) for
// as long as the program runs.
//
// Start returns the error of cmd.Start. Should a helper fail to set a
// limit or to start the program, it says why on the child's stderr and
// exits with status 127.
func Start(cmd *exec.Cmd, l Limits) (*Process, error) {
	if l.rlimited() {
		self, err := helperPath()
		if err != nil {
			return nil, err
		}
		args := []string{helperArg0,
			strconv.FormatUint(l.Memory, 10), strconv.FormatUint(l.CPUSeconds, 10), strconv.FormatUint(l.OpenFiles, 10),
			cmd.Path}
		cmd.Args = append(args, cmd.Args...)
		cmd.Path = self
	}
	return startSupervised(cmd, l)
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
