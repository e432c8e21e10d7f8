//go:build unix

package execkind

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/conveyor-run/conveyor/internal/spawn"
)

// process is one run of a command in its own process group. Its lifecycle
// follows Nomad's drivers: start; wait for the leader to exit; on cancel,
// SIGTERM the group, then SIGKILL it after the grace period; once the
// leader has exited, SIGKILL whatever is left of the group and drain the
// pipes.
type process struct {
	path   string
	args   []string
	dir    string
	env    []string
	stdin  *os.File
	grace  time.Duration
	drain  time.Duration
	maxLen int
	limits spawn.Limits
	// stdout and stderr receive the lines of each stream, each called from
	// one goroutine (see readLines).
	stdout, stderr func(line string, dropped int)
}

// exit is how a process ended.
type exit struct {
	status syscall.WaitStatus
	// signalled says how the process was stopped because ctx was done, ""
	// when it exited on its own.
	signalled string
}

// run starts the process and returns once it is reaped, the rest of its
// group killed, and its output read (or abandoned after the drain
// timeout). It returns an error only when the process could not be started
// or waited for; no goroutine it starts outlives it.
func (p *process) run(ctx context.Context) (exit, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return exit{}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return exit{}, err
	}
	cmd := &exec.Cmd{
		Path:   p.path,
		Args:   p.args,
		Dir:    p.dir,
		Env:    p.env,
		Stdin:  p.stdin,
		Stdout: outW,
		Stderr: errW,
	}
	job, err := spawn.Start(cmd, p.limits)
	if err != nil {
		closeAll(outR, outW, errR, errW)
		return exit{}, fmt.Errorf("start: %w", err)
	}
	// The child has its copies; ours would keep the pipes from ever
	// reaching EOF.
	closeAll(outW, errW)

	var readers sync.WaitGroup
	readers.Go(func() { _ = readLines(outR, p.maxLen, p.stdout) })
	readers.Go(func() { _ = readLines(errR, p.maxLen, p.stderr) })
	read := make(chan struct{}) // closed once both readers are done
	go func() { readers.Wait(); close(read) }()

	exited := make(chan struct{})
	how := make(chan string, 1)
	go func() { how <- p.watch(ctx, job, exited) }()

	waitErr := cmd.Wait()
	close(exited)
	signalled := <-how
	// The program is gone: so is the job. Kill what it left behind (under
	// a supervisor, that is done), which also closes their copies of the
	// pipes.
	_ = job.Signal(syscall.SIGKILL)
	spawn.DrainPipes(read, p.drain, outR, errR)

	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return exit{}, fmt.Errorf("wait: %w", waitErr)
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return exit{status: ws, signalled: signalled}, nil
}

// watch stops the job when ctx is done before exited is closed: SIGTERM,
// then SIGKILL if the program has not exited after the grace period. It
// returns how it stopped the process, or "" if it did not.
func (p *process) watch(ctx context.Context, job *spawn.Process, exited <-chan struct{}) string {
	select {
	case <-exited:
		return ""
	case <-ctx.Done():
	}
	if job.Stop(syscall.SIGTERM, p.grace, exited) {
		return fmt.Sprintf("killed with SIGKILL after a %v grace period", p.grace)
	}
	return "stopped with SIGTERM"
}

// closeAll closes files, ignoring errors: they are pipe ends and the temp
// input, for which a failed close loses nothing.
func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// removeAll removes dir and everything in it, first making writable any
// directory the process made read-only.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700) // before WalkDir reads it
		}
		return nil
	})
	return os.RemoveAll(dir)
}
