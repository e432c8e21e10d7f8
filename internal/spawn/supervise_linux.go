//go:build linux

package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// supervisorArg0 is the argv[0] under which a process of this binary is a
// job's supervisor rather than Conveyor.
const supervisorArg0 = "conveyor:supervise"

// Timing of a supervisor's kill.
const (
	// killPoll is how often a killing supervisor looks for processes it
	// has not killed yet: one forked by a process it was killing, say.
	killPoll = 10 * time.Millisecond
	// killWait bounds how long a supervisor waits for the processes it
	// killed to be gone (one in uninterruptible sleep takes until it
	// wakes); past it the supervisor exits and leaves them, killed, to
	// init.
	killWait = 5 * time.Second
)

// startSupervised starts a supervisor (this binary, under supervisorArg0)
// that starts cmd's program, argv and files, as l says, and watches over
// it and every process it starts. cmd.SysProcAttr is ignored.
func startSupervised(cmd *exec.Cmd, l Limits) (*Process, error) {
	self, err := helperPath()
	if err != nil {
		return nil, err
	}
	uid, gid := "-", "-"
	if c := l.Credential; c != nil {
		uid, gid = strconv.FormatUint(uint64(c.Uid), 10), strconv.FormatUint(uint64(c.Gid), 10)
	}
	args := []string{supervisorArg0, uid, gid, strconv.Itoa(3 + len(cmd.ExtraFiles)), cmd.Path}
	cmd.Args = append(args, cmd.Args...)
	cmd.Path = self
	// The supervisor runs as the runner, in a process group of its own (out
	// of reach of a terminal's signals to the runner's group), and is told
	// when the runner dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: hangup}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Process{cmd: cmd, supervised: true}, nil
}

func init() {
	if len(os.Args) >= 6 && os.Args[0] == supervisorArg0 {
		os.Exit(supervise(os.Args[1:]))
	}
}

// supervise is a job's supervisor. args are the uid and gid the job runs
// as ("-": the supervisor's), how many descriptors it inherits (0, 1, 2 and
// the extra files), the program's path and its argv.
//
// The supervisor makes itself a child subreaper (PR_SET_CHILD_SUBREAPER):
// every process the job starts stays its descendant, whatever it does —
// setsid, double fork, a group of its own — since an orphan is reparented
// to the supervisor, not to init. It starts the program in a process group
// of its own, which dies (SIGKILL) if the supervisor does, and then:
//
//   - forwards SIGTERM and SIGINT to the job's group and to every
//     descendant outside it;
//   - on hangup (the runner asks for a kill, or has died) kills every
//     descendant with SIGKILL;
//   - once the program exits, kills every descendant left with SIGKILL.
//
// When every descendant is reaped (or killWait after the kill), it exits
// as the program did: with its exit status, or killed by the same signal
// (without a core dump of its own). It returns 127 when it cannot start
// the program, having said why on stderr.
func supervise(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "conveyor: "+format+"\n", a...)
		return 127
	}
	n, err := strconv.Atoi(args[2])
	if err != nil || n < 3 {
		return fail("supervisor: bad descriptor count %q", args[2])
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if args[0] != "-" {
		uid, err1 := strconv.ParseUint(args[0], 10, 32)
		gid, err2 := strconv.ParseUint(args[1], 10, 32)
		if err1 != nil || err2 != nil {
			return fail("supervisor: bad user %q:%q", args[0], args[1])
		}
		sys.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("supervisor: become a child subreaper: %v", err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, hangup)

	files := make([]uintptr, n)
	for i := range files {
		files[i] = uintptr(i)
	}
	path, argv := args[3], args[4:]
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: files, Sys: sys})
	if err != nil {
		return fail("start %s: %v", path, err)
	}
	// Only the job holds its pipes now: their readers see EOF once it is
	// gone, not when the supervisor is.
	releaseFiles(n)

	reaped := make(chan reap)
	noChildren := make(chan struct{})
	go reapAll(reaped, noChildren)

	var (
		// status is how the program ended; until it is reaped, as if
		// by the SIGKILL it gets should the supervisor give up waiting.
		status  = syscall.WaitStatus(syscall.SIGKILL)
		killing bool
		since   time.Time
		poll    <-chan time.Time
	)
	// startKilling has every descendant killed every killPoll — those
	// forked meanwhile too, reparented here once their parent is killed —
	// until none is left.
	startKilling := func() {
		if !killing {
			killing, since = true, time.Now()
			poll = time.NewTicker(killPoll).C
		}
	}
	for {
		select {
		case sig := <-sigs:
			if sig == hangup {
				startKilling()
				signalTree(syscall.SIGKILL, 0)
			} else if !killing {
				signalTree(sig.(syscall.Signal), pid)
			}
		case r := <-reaped:
			if r.pid == pid {
				// Most programs leave nothing behind: then noChildren
				// comes before the first poll, which saves a walk of /proc.
				status = r.status
				startKilling()
			}
		case <-poll:
			if time.Since(since) > killWait {
				return exitAs(status)
			}
			signalTree(syscall.SIGKILL, 0)
		case <-noChildren:
			return exitAs(status)
		}
	}
}

// reap is a child that exited and how.
type reap struct {
	pid    int
	status syscall.WaitStatus
}

// reapAll reaps every child, the job's and the orphans reparented to the
// supervisor, until there is none (ECHILD), and then closes none.
func reapAll(reaped chan<- reap, none chan<- struct{}) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			close(none)
			return
		}
		reaped <- reap{pid, ws}
	}
}

// releaseFiles closes the supervisor's copies of the job's descriptors,
// putting /dev/null in the place of 0, 1 and 2.
func releaseFiles(n int) {
	null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	for fd := range n {
		if fd < 3 && err == nil {
			_ = unix.Dup3(null, fd, 0)
		} else {
			_ = unix.Close(fd)
		}
	}
	if err == nil {
		_ = unix.Close(null)
	}
}

// exitAs ends the supervisor as the program ended: with its exit status,
// or by its signal. It returns only the status to exit with when it
// cannot die by the signal.
func exitAs(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		dieBy(ws.Signal())
		return 128 + int(ws.Signal())
	}
	return 127
}

// dieBy kills the supervisor with sig, past the Go runtime's handlers and
// without dumping its core, so that its parent sees the program's end.
func dieBy(sig syscall.Signal) {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if sig != syscall.SIGKILL && sig != syscall.SIGSTOP {
		// A zeroed struct sigaction is SIG_DFL on every architecture.
		var action [8]uint64
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&action)), 0, 8, 0, 0)
		set := uint64(1) << (uint(sig) - 1)
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	}
	_ = unix.Kill(os.Getpid(), sig)
}
