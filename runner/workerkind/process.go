//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

// spec is how to start one worker process.
type spec struct {
	cmd spawn.Command // the program, its dir, user and rlimits
	env []string      // cmd.Env with the worker's own variables, sorted
}

// proc is one worker process: its pipes, the goroutines that read them,
// and the jobs it is running, up to its pool's concurrency. Its lifecycle follows Nomad's
// drivers: start; handshake; run jobs; on stop close fd 3, then kill the
// job (the process and all it started) after the grace period; once the
// process has exited, kill what it left and drain the pipes.
type proc struct {
	pid     int            // the supervisor's, on Linux (see spawn.Start)
	job     *spawn.Process // the worker and every process it starts
	started time.Time
	log     *slog.Logger
	jobs    *os.File // runner → worker (the worker's fd 3)
	w       *workerproto.Writer
	stderr  spawn.Tail

	// settle returns once the stdout and stderr written so far are read.
	settle func()

	gpus    []int            // the GPUs it holds (see pool.spawn), given back once it exited
	devices *runner.Devices  // the runner's GPUs, for their load
	hello   chan helloResult // the outcome of the handshake, sent once
	greeted bool             // owned by the protocol reader
	exited  chan struct{}    // closed once reaped, the rest killed and the pipes drained
	status  string           // how it exited; set before exited is closed

	// conc is how many items (jobs or batches) it runs at once, ahead how
	// many more it holds (prefetch); see item.
	conc, ahead int
	sendMu      sync.Mutex // one item's message at a time, in the order of p.items

	mu       sync.Mutex
	runs     map[string]*jobRun // the jobs sent to it and not ended, by id
	items    []*item            // sent and not answered, in the order sent: the first running are started
	running  int
	stopping bool // the pool is stopping it: its exit is expected
	// Guarded by the pool's lock:
	inflight int       // slots taken: jobs handed to Runs
	idleFrom time.Time // when it last ran no job
}

type helloResult struct {
	hello *workerproto.Hello
	err   error
}

// jobRun is a job running on a proc, alone or in a batch.
type jobRun struct {
	id   string
	alg  string
	rep  conveyor.Reporter
	done chan answer // the job's result or error; buffered, sent once
	// notify, for a job of a batch, is told of each answer; batch is the
	// batch.
	notify chan struct{}
	batch  *batchRun
	// it is the item the job is sent in; answered is set once its answer
	// is read. Both guarded by the proc's mu.
	it       *item
	answered bool
	// onGPU is set while the job counts in the load of the process's
	// GPUs (see gpuStartLocked); guarded by the proc's mu.
	onGPU bool
}

// answer is how the worker ended a job.
type answer struct {
	output json.RawMessage
	route  conveyor.Route
	err    *workerproto.Error
	fail   error // a protocol failure that ends the job (an answer too long)
}

// startProc starts a worker process and its readers. It does not wait
// for the handshake.
func startProc(s spec, log *slog.Logger) (*proc, error) {
	var files []*os.File
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		files = append(files, r, w)
		return r, w, err
	}
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			_ = f.Close()
		}
	}
	jobsR, jobsW, err1 := pipe()
	evR, evW, err2 := pipe()
	outR, outW, err3 := pipe()
	errR, errW, err4 := pipe()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		closeAll(files...)
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:       s.cmd.Path,
		Args:       s.cmd.Args,
		Dir:        s.cmd.Dir,
		Env:        s.env,
		Stdout:     outW,
		Stderr:     errW,
		ExtraFiles: []*os.File{jobsR, evW}, // fds 3 and 4
	}
	job, err := spawn.Start(cmd, s.cmd.Limits)
	if err != nil {
		closeAll(files...)
		return nil, fmt.Errorf("start %s: %w", s.cmd.Args[0], err)
	}
	// The child has its copies; ours would keep the pipes from ever
	// reaching EOF.
	closeAll(jobsR, evW, outW, errW)
	p := &proc{
		pid:     cmd.Process.Pid,
		job:     job,
		started: time.Now(),
		log:     log.With("worker_pid", cmd.Process.Pid),
		jobs:    jobsW,
		w:       workerproto.NewWriter(jobsW),
		hello:   make(chan helloResult, 1),
		runs:    map[string]*jobRun{},
		exited:  make(chan struct{}),
	}
	stdout := newOutput(outR, func(line string) { p.outputLine("stdout", line) })
	stderr := newOutput(errR, func(line string) { p.stderr.Add(line); p.outputLine("stderr", line) })
	proto := make(chan struct{})
	go stdout.read()
	go stderr.read()
	go func() { defer close(proto); p.readProtocol(evR) }()
	go p.wait(cmd, func() {
		spawn.DrainPipes(proto, spawn.DrainTimeout, evR)
		stdout.wait(spawn.DrainTimeout)
		stderr.wait(spawn.DrainTimeout)
	})
	p.settle = func() {
		var wg sync.WaitGroup
		wg.Go(stdout.settle)
		wg.Go(stderr.settle)
		wg.Wait()
	}
	return p, nil
}

// wait reaps the process, kills what it left running, waits for the
// readers with drain, and closes p.exited.
func (p *proc) wait(cmd *exec.Cmd, drain func()) {
	err := cmd.Wait()
	_ = p.job.Signal(syscall.SIGKILL)
	drain()
	_ = p.jobs.Close()
	p.status = exitStatus(cmd, err)
	close(p.exited)
}

func exitStatus(cmd *exec.Cmd, err error) string {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	case ok:
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	case err != nil:
		return err.Error()
	}
	return "exited"
}

// handshake waits for the worker's hello, for at most timeout. It returns
// an error, with the tail of stderr, when the worker exits first, sends
// anything else, or is silent too long.
func (p *proc) handshake(ctx context.Context, timeout time.Duration) (*workerproto.Hello, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case h := <-p.hello:
		if h.err == nil {
			return h.hello, nil
		}
		err = h.err
	case <-p.exited:
		select { // a hello written just before exiting still counts as sent
		case h := <-p.hello:
			err = h.err
			if err == nil {
				err = errors.New("it sent its hello, then exited")
			}
		default:
		}
		if err == nil {
			err = fmt.Errorf("it %s before its hello", p.status)
		} else {
			err = fmt.Errorf("%w; then it %s", err, p.status)
		}
	case <-timer.C:
		err = fmt.Errorf("no hello within %v", timeout)
	case <-ctx.Done():
		err = fmt.Errorf("no hello yet: %w", ctx.Err())
	}
	p.kill()
	<-p.exited
	return nil, p.withStderr(err)
}

// withStderr returns err with the tail of the worker's stderr.
func (p *proc) withStderr(err error) error {
	if t := p.stderr.String(); t != "" {
		return fmt.Errorf("%w\nits stderr ends with:\n%s", err, t)
	}
	return fmt.Errorf("%w (its stderr is empty)", err)
}

// send writes m to the worker's fd 3.
func (p *proc) send(m workerproto.Message) error { return p.w.Write(m) }

// end forgets the job r: its later lines go elsewhere.
func (p *proc) end(r *jobRun) {
	p.mu.Lock()
	if p.runs[r.id] == r {
		delete(p.runs, r.id)
	}
	p.gpuEndLocked(r)
	p.mu.Unlock()
}

// gpuStartLocked counts the unanswered jobs of it, which the worker now
// runs, in the load of the process's GPUs (a held job does not count).
// p.mu is held.
func (p *proc) gpuStartLocked(it *item) {
	n := 0
	for _, r := range it.runs {
		if !r.answered && !r.onGPU {
			r.onGPU = true
			n++
		}
	}
	p.devices.Busy(p.gpus, n)
}

// gpuEndLocked takes r, answered or forgotten, out of the load of the
// process's GPUs. p.mu is held.
func (p *proc) gpuEndLocked(r *jobRun) {
	if r.onGPU {
		r.onGPU = false
		p.devices.Busy(p.gpus, -1)
	}
}

// run returns the job id sent to the worker, or nil.
func (p *proc) run(id string) *jobRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs[id]
}

// only returns the jobs a line on the worker's stdout or stderr belongs
// to: those of the one item (a job, or a batch) the worker runs, if it
// runs one; else nil, and the ids of the jobs it has. A held item prints
// nothing. With concurrency 1, the item whose answer was just read and
// the next one, started by that answer, may both be there: the lines go
// to the first, whose end waits for what it printed before its answer
// (settle).
func (p *proc) only() ([]*jobRun, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var owners []*item
	for _, r := range p.runs {
		if r.it != nil && r.it.started && !slices.Contains(owners, r.it) {
			owners = append(owners, r.it)
		}
	}
	if len(owners) == 2 && p.conc == 1 {
		// The one no longer among p.items is answered, and settling.
		if slices.Contains(p.items, owners[0]) {
			owners[0] = owners[1]
		}
		if !slices.Contains(p.items, owners[0]) {
			owners = owners[:1]
		}
	}
	if len(owners) == 1 {
		runs := make([]*jobRun, 0, len(owners[0].runs))
		for _, r := range owners[0].runs {
			if p.runs[r.id] == r {
				runs = append(runs, r)
			}
		}
		return runs, nil
	}
	ids := make([]string, 0, len(p.runs))
	for id := range p.runs {
		ids = append(ids, id)
	}
	return nil, ids
}

// outputLine routes one stdout or stderr line to the log of the job the
// worker runs, or of each job of the one batch it runs. A pipe cannot say
// which job wrote a line: while the worker runs several jobs or batches
// (concurrency > 1) or none, the line goes to the runner's log. (The
// Python SDK passes a job's prints on itself, as log messages with a
// stream, when it runs several at once; what reaches the pipes then comes
// from subprocesses and native code.)
func (p *proc) outputLine(stream, line string) {
	runs, ids := p.only()
	if runs != nil {
		for _, r := range runs {
			r.rep.Log(stream, line)
		}
		return
	}
	if len(ids) > 0 {
		p.log.Info("worker output", "stream", stream, "line", line, "running", ids)
		return
	}
	p.log.Info("worker output", "stream", stream, "line", line)
}

// stop asks the worker to exit by closing its fd 3, and kills it
// if it has not exited after grace. It returns once the worker is gone.
func (p *proc) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	_ = p.jobs.Close()
	p.job.Stop(0, grace, p.exited) // closing fd 3 was the request
	<-p.exited
}

// kill kills the worker and every process it started; its exit is
// expected.
func (p *proc) kill() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	_ = p.job.Signal(syscall.SIGKILL)
}

// expectedExit reports whether the pool stopped the worker.
func (p *proc) expectedExit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}
