//go:build linux

package spawn

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// escapes starts, in the background, a sleep in a session of its own, a
// double-forked one in a session of its own, and a double-forked one in
// the group, and prints their pids on one line.
const escapes = `setsid sleep 301 </dev/null >/dev/null 2>&1 &
a=$!
b=$(setsid sleep 302 </dev/null >/dev/null 2>&1 & echo $!)
c=$(sleep 303 </dev/null >/dev/null 2>&1 & echo $!)
echo $a $b $c
`

// startEscapes starts escapes followed by rest and returns the job, the
// pids of the three sleeps, and a channel closed once the job is reaped.
// The test's cleanup kills what is left.
func startEscapes(t *testing.T, rest string) (*Process, []int, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", escapes+rest)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cmd, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var pids []int
	for _, f := range strings.Fields(line) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	t.Cleanup(func() {
		_ = p.Signal(syscall.SIGKILL)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-exited
	})
	if len(pids) != 3 {
		t.Fatalf("the script printed %q, want three pids", line)
	}
	return p, pids, exited
}

// assertGone fails unless every process of pids is gone soon (a zombie
// counts as gone: when the test runs as a container's init, nothing
// reaps an orphan).
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("processes %v to be gone", pids), func() bool {
		for _, pid := range pids {
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			if s := string(stat); !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " Z") {
				return false
			}
		}
		return true
	})
}

// TestSupervisorKillsLeftoversOnExit: once the program exits, whatever it
// left running is killed, also processes in sessions of their own.
func TestSupervisorKillsLeftoversOnExit(t *testing.T) {
	_, pids, exited := startEscapes(t, "exit 0")
	waitExited(t, exited)
	assertGone(t, pids)
}

// TestSupervisorKill: Signal(SIGKILL) kills every process of the job.
func TestSupervisorKill(t *testing.T) {
	p, pids, exited := startEscapes(t, "exec sleep 300")
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, exited)
	assertGone(t, pids)
}

// TestSupervisorForwardsSIGTERM: a stop's SIGTERM reaches the processes
// that left the group too. The program ignores SIGTERM and exits once the
// sleep in a session of its own is gone, which only a forwarded SIGTERM
// does before the grace period is over.
func TestSupervisorForwardsSIGTERM(t *testing.T) {
	p, pids, exited := startEscapes(t, `trap "" TERM; wait $a; exit 0`)
	if killed := p.Stop(syscall.SIGTERM, 20*time.Second, exited); killed {
		t.Error("the program was killed: the sleep in its own session did not get SIGTERM")
	}
	waitExited(t, exited)
	assertGone(t, pids)
}

// TestSupervisorExitsAsProgram: the supervisor's parent sees the
// program's exit status, or the signal that killed it.
func TestSupervisorExitsAsProgram(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   string
	}{
		{"exit 0", "exit status 0"},
		{"exit 3", "exit status 3"},
		{"kill -TERM $$", "signal terminated"},
		{"kill -SEGV $$", "signal segmentation fault"},
		{"kill -KILL $$", "signal killed"},
	} {
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		if _, err := Start(cmd, Limits{}); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		var got string
		if ws.Signaled() {
			got = "signal " + ws.Signal().String()
		} else {
			got = fmt.Sprint("exit status ", ws.ExitStatus())
		}
		if got != tc.want {
			t.Errorf("%s: the parent saw %s, want %s", tc.script, got, tc.want)
		}
	}
}

// TestSupervisorStartFails: a program that cannot be started is exit
// status 127 with the reason on stderr.
func TestSupervisorStartFails(t *testing.T) {
	var stderr strings.Builder
	cmd := exec.Command("/bin/sh")
	cmd.Path = "/nonexistent/program"
	cmd.Stderr = &stderr
	if _, err := Start(cmd, Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 127 || !strings.Contains(stderr.String(), "/nonexistent/program") {
		t.Errorf("Wait = %v, stderr %q; want exit status 127 naming the program", err, stderr.String())
	}
}

// TestSupervisorKillsForkingJob: a job that is forking hundreds of
// processes into sessions of their own is killed all the same, every process of it: each
// carries a mark in its environment, which no process has afterwards.
func TestSupervisorKillsForkingJob(t *testing.T) {
	mark := fmt.Sprintf("CONVEYOR_TEST_MARK=%d", time.Now().UnixNano())
	cmd := exec.Command("/bin/sh", "-c", `(i=0; while [ $i -lt 500 ]; do setsid sleep 300 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; sleep 300) & echo ready; exec sleep 300`)
	cmd.Env = append(os.Environ(), mark)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cmd, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bufio.NewReader(out).ReadString('\n')
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	marked := func() (pids []int) {
		for _, pr := range processes() {
			env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pr.pid))
			if strings.Contains("\x00"+string(env), "\x00"+mark+"\x00") {
				pids = append(pids, pr.pid)
			}
		}
		return pids
	}
	t.Cleanup(func() {
		for _, pid := range marked() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	testenv.Eventually(t, "the job to have forked", func() bool { return len(marked()) > 10 })
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, exited)
	assertGone(t, marked())
}
