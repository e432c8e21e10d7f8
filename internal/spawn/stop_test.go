//go:build unix

package spawn

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// startJob starts a shell script, waits for its first line (so that its
// traps are set), and returns its Process and a channel closed once it is
// reaped. The test's cleanup kills the job and reaps the script, however
// the test ends.
func startJob(t *testing.T, script string) (*Process, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cmd, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// Reading the first line first and then waiting is the order os/exec
	// asks for; a script that exits before its line ends the read at EOF.
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(out).ReadString('\n')
		close(ready)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = p.Signal(syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Error("the script outlived SIGKILL by 30s")
		}
	})
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the script did not start within 30s")
	}
	return p, exited
}

// waitExited fails the test unless exited is closed within 30s.
func waitExited(t *testing.T, exited <-chan struct{}) {
	t.Helper()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the job's program did not exit within 30s")
	}
}

func TestStop(t *testing.T) {
	t.Run("honours SIGTERM", func(t *testing.T) {
		p, exited := startJob(t, "echo ready; exec sleep 300")
		if killed := p.Stop(syscall.SIGTERM, time.Minute, exited); killed {
			t.Error("Stop killed a process that stopped on SIGTERM")
		}
		waitExited(t, exited)
	})
	t.Run("ignores SIGTERM", func(t *testing.T) {
		p, exited := startJob(t, `trap "" TERM; echo ready; while :; do sleep 1; done`)
		if killed := p.Stop(syscall.SIGTERM, 200*time.Millisecond, exited); !killed {
			t.Error("Stop says the process stopped on a SIGTERM it ignores")
		}
		waitExited(t, exited)
	})
	t.Run("no signal", func(t *testing.T) {
		// sig 0 sends nothing: the process, which would stop on SIGTERM,
		// runs until the grace period is over and is then killed.
		p, exited := startJob(t, "echo ready; exec sleep 300")
		if killed := p.Stop(0, 200*time.Millisecond, exited); !killed {
			t.Error("Stop with no signal did not kill")
		}
		waitExited(t, exited)
	})
}

func TestSignalGone(t *testing.T) {
	p, exited := startJob(t, "echo ready")
	waitExited(t, exited)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("Signal to a job that is gone: %v, want nil", err)
	}
}
