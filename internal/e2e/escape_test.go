package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestKill9LeavesNoExecDescendant kills `conveyor serve` with SIGKILL
// while an exec job runs a script that has started processes of every
// kind that outlives a process-group kill or a parent-death signal — a
// background child, a double-forked orphan, and two in sessions of their
// own (setsid) — and checks that every one dies with serve.
func TestKill9LeavesNoExecDescendant(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	script, _ := filepath.Abs("testdata/escapes.sh")
	pidFile := filepath.Join(t.TempDir(), "pids")
	cfg := fmt.Sprintf("algorithms:\n  - {name: escape, kind: exec, command: [sh, %s], env: {PIDS: %s}}\n", script, pidFile)
	p := serve(t, t.TempDir(), testenv.FreeAddr(t), cfg)
	p.submit(`{"algorithm":"escape","input":{}}`)
	pids := readPids(t, pidFile)
	p.kill(syscall.SIGKILL)
	assertDead(t, pids)
}

// TestKill9LeavesNoWorkerDescendant: the same of the processes a worker
// process started before it became the worker.
func TestKill9LeavesNoWorkerDescendant(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	python := testenv.Python(t)
	root, _ := filepath.Abs("../..")
	script, _ := filepath.Abs("testdata/escapes.sh")
	pidFile := filepath.Join(t.TempDir(), "pids")
	cfg := fmt.Sprintf("algorithms:\n  - {kind: worker, command: [sh, %s, %s, -m, conveyor.worker, classifier], env: {PYTHONPATH: %s, PIDS: %s}, workers: {min: 1, max: 1}}\n",
		script, python, filepath.Join(root, "examples", "python"), pidFile)
	p := serve(t, t.TempDir(), testenv.FreeAddr(t), cfg)
	pids := readPids(t, pidFile)
	p.kill(syscall.SIGKILL)
	assertDead(t, pids)
}

// readPids waits for the file of pids escapes.sh writes and returns them.
// The test's cleanup kills any of them still running.
func readPids(t *testing.T, path string) []int {
	t.Helper()
	var data []byte
	testenv.Eventually(t, "the script to write its pids", func() bool {
		var err error
		data, err = os.ReadFile(path)
		return err == nil
	})
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid file %q: %v", data, err)
		}
		pids = append(pids, pid)
		killLeftover(t, pid)
	}
	for _, pid := range pids {
		if !running(pid) {
			t.Fatalf("process %d of %v is not running before the kill", pid, pids)
		}
	}
	return pids
}

// assertDead fails unless every process of pids is dead soon, naming
// those that are not.
func assertDead(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	testenv.Eventually(t, fmt.Sprintf("processes %v to die with conveyor serve", pids), func() bool {
		var alive []int
		for _, pid := range pids {
			if running(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) > 0 && time.Now().After(deadline) {
			t.Fatalf("processes %v of %v outlived conveyor serve by 10s", alive, pids)
		}
		return len(alive) == 0
	})
}

// TestKill9TempDirSwept kills `conveyor serve` with SIGKILL while an exec
// job runs, which leaves the attempt's directory with its input.json
// behind, and checks that the next start removes it.
func TestKill9TempDirSwept(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dir, addr, tmp := t.TempDir(), testenv.FreeAddr(t), t.TempDir()
	cfg := fmt.Sprintf("algorithms:\n  - {name: hang, kind: exec, command: [sleep, \"300\"], env: {TMPDIR: %s}}\n", tmp)
	p := serve(t, dir, addr, cfg)
	p.submit(`{"algorithm":"hang","input":{"secret":1}}`)
	var left []string
	testenv.Eventually(t, "the attempt's input.json", func() bool {
		left, _ = filepath.Glob(filepath.Join(tmp, "conveyor-hang-*", "input.json"))
		return len(left) == 1
	})
	p.kill(syscall.SIGKILL)
	if _, err := os.Stat(left[0]); err != nil {
		t.Fatalf("the kill removed %s: the test proves nothing: %v", left[0], err)
	}
	serve(t, dir, addr, cfg)
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after the restart (%v)", left[0], err)
	}
}
