//go:build unix

package workerkind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/backoff"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

// restartBackoff delays the start that follows the n+1-th failure in a row
// of a pool's workers by its Delay(n): 0.5 s doubling up to a minute,
// jittered. A worker fails when its start or handshake fails, or when it
// exits on its own within healthyAfter of its start; one that lives
// longer, or finishes a job, resets the count.
var restartBackoff = backoff.Policy{Base: 500 * time.Millisecond, Max: time.Minute}

// healthyAfter is how long a worker must live for its exit not to count
// as a failure.
const healthyAfter = 10 * time.Second

// errClosed is the error of a Run on a closed pool.
var errClosed = errors.New("the worker pool is closed")

// pool is the worker processes of one config entry, shared by every
// algorithm the entry serves. It keeps between min and max processes:
// it starts one when a job waits and fewer than max exist, retires idle
// ones after idleTimeout down to min, and replaces those that die, with
// backoff when they keep failing. Each process holds up to conc jobs at
// once (the entry's concurrency) and holds up to its prefetch more: the
// pool hands out slots, conc + prefetch per process, filling a process
// before it starts another, and preferring a slot whose job starts at
// once to one whose job the process holds.
type pool struct {
	name     string // for messages: the entry's command
	spec     spec
	min, max int // processes
	conc     int // jobs per process, at least 1
	// ask is the entry's prefetch: how many items (jobs or batches) a
	// process is to hold beyond conc; ahead is what the first process's
	// hello accepted of it (each process holds what its own accepted).
	ask, ahead int
	// adaptive (an entry without prefetch:) holds depth items beyond conc
	// per process, between conc and ahead, by how long the jobs run
	// (observe); otherwise depth is ahead. work is the mean run time, in
	// ns, weighted to the recent jobs (0: none yet).
	adaptive     bool
	depth        atomic.Int32
	work         atomic.Int64
	idleTimeout  time.Duration
	startTimeout time.Duration
	grace        time.Duration
	served       []string // the algorithms every process must announce
	log          *slog.Logger
	// gpus are the runner's GPUs; each process holds perProc of them
	// (none when perProc is 0), pinned by CUDA_VISIBLE_DEVICES.
	gpus    *runner.Devices
	perProc int

	ctx    context.Context // canceled by Close: aborts handshakes and backoffs
	cancel context.CancelFunc
	wg     sync.WaitGroup // starters, watchers, stoppers, the janitor

	mu        sync.Mutex
	procs     map[*proc]bool // handshaken and not yet exited or retired
	free      []*proc        // a process once per free slot, most recently freed last
	starting  int
	waiters   []waiter
	failures  int       // in a row
	notBefore time.Time // no start before this (backoff)
	closed    bool
	closeOnce sync.Once
}

// waiter is an acquire waiting for a slot; now, for a slot whose job
// starts at once (not one a busy process would hold).
type waiter struct {
	ch  chan acquired
	now bool
}

type acquired struct {
	p   *proc
	err error
}

func newPool(p *pool) *pool {
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.procs = map[*proc]bool{}
	return p
}

// spawn starts a process and waits for its handshake. The hello must
// announce every algorithm the pool serves (a first spawn has none yet).
// A process of a pool that needs GPUs gets them first, waiting until
// enough are free (or ctx ends); it gives them back when it exits.
func (pl *pool) spawn(ctx context.Context) (*proc, *workerproto.Hello, error) {
	sp := pl.spec
	var gpus []int
	if pl.perProc > 0 {
		for {
			var freed <-chan struct{}
			if gpus, freed = pl.gpus.Take(pl.perProc); gpus != nil {
				break
			}
			select {
			case <-freed:
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		ids := make([]string, len(gpus))
		for i, g := range gpus {
			ids[i] = strconv.Itoa(g)
		}
		list := strings.Join(ids, ",")
		sp.env = append(slices.Clone(sp.env), envCUDA+"="+list, envGPU+"="+list)
	}
	p, err := startProc(sp, pl.log)
	if err != nil {
		pl.gpus.Give(gpus)
		return nil, nil, err
	}
	if p.gpus, p.devices = gpus, pl.gpus; gpus != nil {
		pl.wg.Go(func() {
			<-p.exited
			pl.gpus.Give(gpus)
		})
	}
	h, err := p.handshake(ctx, pl.startTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("worker %s (pid %d) failed its start: %w", pl.name, p.pid, err)
	}
	if err := checkHello(h, pl.served, pl.conc); err != nil {
		p.kill()
		<-p.exited
		return nil, nil, fmt.Errorf("worker %s (pid %d): %w", pl.name, p.pid, err)
	}
	p.conc, p.ahead = pl.conc, min(pl.ask, h.Prefetch)
	pl.log.Info("worker started", "worker_pid", p.pid, "startup", time.Since(p.started).Round(time.Millisecond))
	return p, h, nil
}

// checkHello returns an error unless h speaks protocol 1, holds conc
// jobs at once and announces every algorithm of names.
func checkHello(h *workerproto.Hello, names []string, conc int) error {
	if h.Protocol != workerproto.Version {
		return fmt.Errorf("it speaks protocol %d; this runner speaks %d", h.Protocol, workerproto.Version)
	}
	if got := max(h.Concurrency, 1); got < conc {
		return fmt.Errorf("the entry has concurrency: %d but the worker holds %d job(s) at once (its hello says \"concurrency\": %d; a worker that runs several jobs at once reads %s and confirms it in its hello — the Python SDK does)",
			conc, got, h.Concurrency, envConcurrency)
	}
	for _, n := range names {
		if !slices.ContainsFunc(h.Algorithms, func(a workerproto.Algorithm) bool { return a.Name == n }) {
			return fmt.Errorf("it no longer announces %s (restart conveyor to pick up changed algorithms)", n)
		}
	}
	return nil
}

// adopt takes a handshaken process into the pool, free, and watches it.
func (pl *pool) adopt(p *proc) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		p.stop(pl.grace)
		return
	}
	pl.procs[p] = true
	for range p.conc + p.ahead {
		pl.handOff(p)
	}
	pl.mu.Unlock()
	pl.wg.Go(func() {
		<-p.exited
		pl.exited(p)
	})
}

// acquire returns a process with a free slot, taking the slot, waiting
// for one (and starting a process, up to max) if none is. With now, or
// while the pool may grow, only a slot whose job starts at once will do,
// not one a busy process holds (prefetch). It returns an error when ctx
// is done first, when the pool is closed, or when a process could not be
// started and none is left to wait for.
func (pl *pool) acquire(ctx context.Context, now bool) (*proc, error) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil, errClosed
	}
	// A busy process holds the job (prefetch) only when the pool cannot
	// grow: a new process would run it sooner.
	now = now || len(pl.procs)+pl.starting < pl.max
	if n := len(pl.free); n > 0 {
		// The most recently freed slot of a process that runs the job at
		// once, if there is one; else one that holds it (prefetch).
		i := -1
		for j := n - 1; j >= 0; j-- {
			if pl.free[j].inflight < pl.free[j].conc && !pl.free[j].gone() {
				i = j
				break
			}
		}
		if i < 0 && !now {
			// The most recently freed slot of a process that holds fewer
			// than the depth allows now.
			for j := n - 1; j >= 0; j-- {
				if pl.mayHold(pl.free[j]) && !pl.free[j].gone() {
					i = j
					break
				}
			}
		}
		if i >= 0 {
			p := pl.free[i]
			pl.free = slices.Delete(pl.free, i, i+1)
			p.inflight++
			pl.mu.Unlock()
			return p, nil
		}
	}
	ch := make(chan acquired, 1)
	pl.waiters = append(pl.waiters, waiter{ch, now})
	pl.scale()
	pl.mu.Unlock()
	select {
	case a := <-ch:
		return a.p, a.err
	case <-ctx.Done():
	}
	pl.mu.Lock()
	pl.waiters = slices.DeleteFunc(pl.waiters, func(w waiter) bool { return w.ch == ch })
	pl.mu.Unlock()
	select {
	case a := <-ch: // handed one as ctx ended
		if a.p != nil {
			pl.release(a.p)
		}
	default:
	}
	return nil, ctx.Err()
}

// release gives back the slot of a job that finished on p.
func (pl *pool) release(p *proc) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.failures = 0
	p.inflight--
	select {
	case <-p.exited: // its watcher takes it out
		return
	default:
	}
	if pl.closed || !pl.procs[p] {
		return
	}
	pl.handOff(p)
}

// handOff gives a free slot of p to the longest waiting Run that takes
// it, or keeps it free. The caller holds pl.mu.
func (pl *pool) handOff(p *proc) {
	for i, w := range pl.waiters {
		if p.inflight >= p.conc && (w.now || !pl.mayHold(p)) {
			continue
		}
		pl.waiters = slices.Delete(pl.waiters, i, i+1)
		p.inflight++
		w.ch <- acquired{p: p}
		return
	}
	if p.inflight == 0 {
		p.idleFrom = time.Now()
	}
	pl.free = append(pl.free, p)
}

// gone reports whether p has exited. Its free slots stay in pl.free until
// pl.exited takes them out; meanwhile none may be handed out (a job held
// by a process that died, sent again, would go to the dead one again).
func (p *proc) gone() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// mayHold reports whether a slot of p may take a job p is to hold, its
// running slots taken: whether p holds fewer items than the depth allows
// now. The caller holds pl.mu.
func (pl *pool) mayHold(p *proc) bool {
	return p.inflight < p.conc+min(int(pl.depth.Load()), p.ahead)
}

// observe notes that a job ran d on its worker, from its start to its
// answer; an adaptive pool sets its depth by the mean.
func (pl *pool) observe(d time.Duration) {
	if !pl.adaptive {
		return
	}
	for {
		old := pl.work.Load()
		mean := old + (int64(d)-old)/8
		if old == 0 {
			mean = max(int64(d), 1)
		}
		if pl.work.CompareAndSwap(old, mean) {
			switch {
			case time.Duration(mean) < shortJob:
				pl.depth.Store(int32(pl.ahead))
			case time.Duration(mean) > shallowJob:
				pl.depth.Store(int32(min(pl.conc, pl.ahead)))
			}
			return
		}
	}
}

// scale starts processes for waiting Runs, up to max, and up to min in
// any case. The caller holds pl.mu.
func (pl *pool) scale() {
	if pl.closed {
		return
	}
	for {
		n := len(pl.procs) + pl.starting
		if n >= pl.max || (len(pl.waiters) <= pl.starting*(pl.conc+pl.ask) && n >= pl.min) {
			return
		}
		pl.startOne()
	}
}

// startOne starts a process in the background, after the backoff if
// earlier starts failed. The caller holds pl.mu.
func (pl *pool) startOne() {
	pl.starting++
	delay := time.Until(pl.notBefore)
	pl.wg.Go(func() {
		if delay > 0 {
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-pl.ctx.Done():
			}
			timer.Stop()
		}
		var p *proc
		err := pl.ctx.Err()
		if err == nil {
			p, _, err = pl.spawn(pl.ctx)
		}
		pl.mu.Lock()
		pl.starting--
		if err != nil {
			pl.failed(err)
			pl.mu.Unlock()
			return
		}
		pl.mu.Unlock()
		pl.adopt(p)
	})
}

// failed records a failed start: it backs off further starts and, when
// no process is left for them, fails the waiting Runs with the error. The
// caller holds pl.mu.
func (pl *pool) failed(err error) {
	if pl.closed {
		return
	}
	pl.backOff(err)
	if len(pl.procs) == 0 && pl.starting == 0 {
		for _, w := range pl.waiters {
			w.ch <- acquired{err: &conveyor.JobError{Type: conveyor.ErrorTypeCrashed, Message: "no worker process could be started", Detail: err.Error()}}
		}
		pl.waiters = nil
	}
	pl.scale()
}

// backOff counts a failure in a row and delays the next start. The caller
// holds pl.mu.
func (pl *pool) backOff(err error) {
	pl.failures++
	delay := restartBackoff.Delay(pl.failures - 1)
	pl.notBefore = time.Now().Add(delay)
	pl.log.Error("worker failed", "err", err, "failures_in_a_row", pl.failures, "next_start_in", delay)
}

// exited takes a process that exited out of the pool and replaces it if
// needed. An exit the pool did not ask for is logged with the stderr tail
// and counts as a failure when it came soon after the start.
func (pl *pool) exited(p *proc) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	delete(pl.procs, p)
	pl.free = slices.DeleteFunc(pl.free, func(q *proc) bool { return q == p })
	if p.expectedExit() || pl.closed {
		pl.scale()
		return
	}
	err := p.withStderr(fmt.Errorf("worker %s (pid %d) %s after %v", pl.name, p.pid, p.status, time.Since(p.started).Round(time.Millisecond)))
	if time.Since(p.started) < healthyAfter {
		pl.backOff(err)
	} else {
		pl.log.Warn("worker exited; replacing it", "err", err)
	}
	pl.scale()
}

// janitor retires processes idle for longer than idleTimeout, keeping
// min, until the pool is closed.
func (pl *pool) janitor() {
	tick := time.NewTicker(min(max(pl.idleTimeout/4, 10*time.Millisecond), 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-pl.ctx.Done():
			return
		case <-tick.C:
		}
		pl.mu.Lock()
		for len(pl.procs) > pl.min {
			p := pl.longestIdle()
			if p == nil || time.Since(p.idleFrom) < pl.idleTimeout {
				break
			}
			pl.free = slices.DeleteFunc(pl.free, func(q *proc) bool { return q == p })
			delete(pl.procs, p)
			pl.log.Info("retiring idle worker", "worker_pid", p.pid, "idle", pl.idleTimeout)
			pl.wg.Go(func() { p.stop(pl.grace) })
		}
		pl.mu.Unlock()
	}
}

// longestIdle returns the process without a job for the longest time, or
// nil if every process has one. The caller holds pl.mu.
func (pl *pool) longestIdle() *proc {
	var best *proc
	for p := range pl.procs {
		if p.inflight == 0 && (best == nil || p.idleFrom.Before(best.idleFrom)) {
			best = p
		}
	}
	return best
}

// close stops every process and waits until they are gone and every
// goroutine of the pool has returned. Runs still waiting fail. Safe to
// call more than once.
func (pl *pool) close() {
	pl.closeOnce.Do(func() {
		pl.mu.Lock()
		pl.closed = true
		for _, w := range pl.waiters {
			w.ch <- acquired{err: errClosed}
		}
		pl.waiters = nil
		procs := make([]*proc, 0, len(pl.procs))
		for p := range pl.procs {
			procs = append(procs, p)
		}
		pl.free = nil
		pl.mu.Unlock()
		pl.cancel()
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(func() { p.stop(pl.grace) })
		}
		wg.Wait()
		pl.wg.Wait()
	})
}

// size returns how many processes the pool has and how many of them run
// no job.
func (pl *pool) size() (procs, idle int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for p := range pl.procs {
		if p.inflight == 0 {
			idle++
		}
	}
	return len(pl.procs), idle
}
