package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestKill9LeavesNoWorker kills `conveyor serve` with SIGKILL and checks
// that its worker process dies with it instead of living on as an orphan.
func TestKill9LeavesNoWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	python := testenv.Python(t)
	root, _ := filepath.Abs("../..")
	cfg := fmt.Sprintf("algorithms:\n  - {kind: worker, command: [%s, -m, conveyor.worker, classifier], env: {PYTHONPATH: %s}, workers: {min: 1, max: 1}}\n",
		python, filepath.Join(root, "examples", "python"))
	p := serve(t, t.TempDir(), testenv.FreeAddr(t), cfg)
	m := regexp.MustCompile(`worker_pid=(\d+)`).FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("no worker pid in the log:\n%s", p.logs)
	}
	pid, _ := strconv.Atoi(m[1])
	if !running(pid) {
		t.Fatalf("worker %d is not running", pid)
	}
	killLeftover(t, pid)
	p.kill(syscall.SIGKILL)
	testenv.Eventually(t, fmt.Sprintf("worker %d to die with conveyor serve", pid), func() bool { return !running(pid) })
}

// TestKill9LeavesNoExecProcess kills `conveyor serve` with SIGKILL while an
// exec job runs a process that reads nothing from it, and checks that the
// process dies with it.
func TestKill9LeavesNoExecProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	cfg := fmt.Sprintf("algorithms:\n  - {name: hang, kind: exec, command: [%s, \"300\"]}\n", sleep)
	p := serve(t, t.TempDir(), testenv.FreeAddr(t), cfg)
	if code, err := p.call("POST", "/v1/jobs", `{"algorithm":"hang","input":{}}`, nil); err != nil || code != 202 {
		t.Fatalf("submit: %d %v", code, err)
	}
	var child int
	testenv.Eventually(t, "the exec process to start", func() bool {
		child = descendantOf(p.cmd.Process.Pid, "sleep")
		return child != 0
	})
	killLeftover(t, child)
	p.kill(syscall.SIGKILL)
	testenv.Eventually(t, fmt.Sprintf("exec process %d to die with conveyor serve", child), func() bool { return !running(child) })
}

// killLeftover kills process pid when the test ends, if it outlived
// conveyor serve: a failed test leaves no orphan behind.
func killLeftover(t *testing.T, pid int) {
	t.Cleanup(func() {
		if running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// descendantOf returns the pid of a descendant of parent whose command is
// name (an exec process runs under a supervisor, a child of serve), or 0.
func descendantOf(parent int, name string) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(field)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if strings.TrimSpace(string(comm)) == name {
				return pid
			}
			if d := descendantOf(pid, name); d != 0 {
				return d
			}
		}
	}
	return 0
}

// running reports whether pid is a live process (a zombie counts as gone).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}
