//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

// MaxBatchSize bounds the max_size a worker may announce for a batch
// algorithm, and an entry's batch settings: the runner holds up to twice
// that many jobs per slot.
const MaxBatchSize = 1024

// batchHandler runs the jobs of an algorithm that the worker announced
// with a batch spec: it gathers the attempts that Run is given into
// batches of up to maxSize jobs and sends each batch to a free process in
// one batch message. A batch leaves when it is full, or maxWait after its
// oldest job came, or — when every process is busy — as soon as one is
// free, with as many jobs as have come meanwhile (up to maxSize): under
// load batches grow by themselves, at no cost in latency.
//
// One goroutine (dispatch) forms the batches; each batch sent has a
// goroutine (batchRun.run) that collects the worker's answers, one per
// job, and hands each to the Run that waits for it.
type batchHandler struct {
	name    string
	pool    *pool
	maxSize int
	maxWait time.Duration
	// observe records the size of each batch sent (the batch size
	// histogram); nil when the runner keeps no metrics.
	observe func(size int)

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // dispatch, the batches' goroutines and their cancels

	mu     sync.Mutex
	queue  []*batchItem  // waiting for a batch, oldest first
	wake   chan struct{} // buffered 1: the queue grew
	closed bool
}

// batchItem is one attempt waiting in a batchHandler: queued, then sent
// in a batch (b set), then answered (done).
type batchItem struct {
	t      *runner.Task
	ctx    context.Context
	queued time.Time
	done   chan itemOutcome // buffered 1, sent once
	b      *batchRun        // the batch it was sent in; guarded by the handler's mu
}

type itemOutcome struct {
	out   json.RawMessage
	route conveyor.Route
	err   error
}

func newBatchHandler(name string, pl *pool, spec *workerproto.BatchSpec, observe func(int)) *batchHandler {
	h := &batchHandler{
		name:    name,
		pool:    pl,
		maxSize: spec.MaxSize,
		maxWait: time.Duration(spec.MaxWait * float64(time.Second)),
		observe: observe,
		wake:    make(chan struct{}, 1),
	}
	// Closing the pool (by any handler of the entry) ends the dispatch.
	h.ctx, h.cancel = context.WithCancel(pl.ctx)
	return h
}

// start starts forming batches.
func (h *batchHandler) start() { h.wg.Go(h.dispatch) }

// BeginsLate tells the runner that Run calls t.Begin once the job's batch
// is sent: waiting for a batch to fill, or for a free process, is not
// charged to the job's timeout.
func (h *batchHandler) BeginsLate() {}

// BatchSize tells the runner how many of the entry's slots a process slot
// is worth for this algorithm: twice its max_size, one batch running and
// the next one filling, so that a process that finishes a batch finds the
// next one ready.
func (h *batchHandler) BatchSize() int { return 2 * h.maxSize }

// Run runs one attempt as a job of a batch. It returns the job's own
// output or error, as handler.Run does for a job sent alone; a batch whose
// handler raised, or returned a list of the wrong length, fails each of
// its jobs with that error, and a process that dies fails each as
// "crashed".
//
// When ctx ends before the batch is sent, the job leaves the queue. When
// it ends after, Run sends the worker a cancel for the job and returns at
// once: the other jobs of the batch go on, and this job's answer is
// dropped. Once every job of a batch is stopped, the worker has the grace
// period to answer them before its process is killed.
func (h *batchHandler) Run(ctx context.Context, t *runner.Task) (json.RawMessage, error) {
	it := &batchItem{t: t, ctx: ctx, queued: time.Now(), done: make(chan itemOutcome, 1)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errClosed
	}
	h.queue = append(h.queue, it)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
	select {
	case o := <-it.done:
		t.SetRoute(o.route)
		return o.out, o.err
	case <-ctx.Done():
	}
	h.mu.Lock()
	b := it.b
	if b == nil {
		h.queue = slices.DeleteFunc(h.queue, func(q *batchItem) bool { return q == it })
	}
	h.mu.Unlock()
	if b == nil {
		select {
		case o := <-it.done: // failed as ctx ended (no process could start)
			return o.out, o.err
		default:
		}
		return nil, fmt.Errorf("worker %s: waiting for a batch: %w", h.name, ctx.Err())
	}
	b.drop(it)
	return nil, fmt.Errorf("worker: the job was dropped from its batch (the worker was sent a cancel): %w", ctx.Err())
}

// dispatch forms batches and sends them until Close, or until the pool
// is closed; then the jobs still waiting fail.
func (h *batchHandler) dispatch() {
	defer h.shut()
	for {
		h.mu.Lock()
		n := len(h.queue)
		var oldest time.Time
		if n > 0 {
			oldest = h.queue[0].queued
		}
		h.mu.Unlock()
		if n == 0 {
			select {
			case <-h.wake:
				continue
			case <-h.ctx.Done():
				return
			}
		}
		if n < h.maxSize {
			if d := time.Until(oldest.Add(h.maxWait)); d > 0 {
				timer := time.NewTimer(d)
				select {
				case <-timer.C:
				case <-h.wake: // more came: full yet?
					timer.Stop()
					continue
				case <-h.ctx.Done():
					timer.Stop()
					return
				}
			}
		}
		p, err := h.pool.acquire(h.ctx, true)
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			// No process could be started: the jobs that wait fail with
			// that error, as single jobs do.
			for _, it := range h.take(int(^uint(0) >> 1)) {
				it.done <- itemOutcome{err: err}
			}
			continue
		}
		items := h.take(h.maxSize)
		if len(items) == 0 { // every job waiting left meanwhile
			h.pool.release(p)
			continue
		}
		h.send(p, items)
	}
}

// take removes up to n jobs that still wait from the queue, oldest first,
// and marks them sent. Jobs whose Run is leaving stay for it to remove.
func (h *batchHandler) take(n int) []*batchItem {
	h.mu.Lock()
	defer h.mu.Unlock()
	var items []*batchItem
	h.queue = slices.DeleteFunc(h.queue, func(it *batchItem) bool {
		if len(items) == n || it.ctx.Err() != nil {
			return false
		}
		items = append(items, it)
		return true
	})
	return items
}

// send starts the jobs of items on p, which the caller acquired with a
// slot that runs the batch at once, as one batch. (A batch is never held
// by a process, prefetched: it would leave with the jobs that came within
// max_wait, where waiting for a free process lets it fill.)
func (h *batchHandler) send(p *proc, items []*batchItem) {
	b := &batchRun{h: h, p: p, items: items, live: len(items), notify: make(chan struct{}, 1), sent: make(chan struct{}), abandoned: make(chan struct{})}
	h.mu.Lock()
	for _, it := range items {
		it.b = b
	}
	h.mu.Unlock()
	fixed := make([]time.Time, len(items)) // a job's deadline before Begin: none
	dirs := make([]string, len(items))
	for i, it := range items {
		b.runs = append(b.runs, &jobRun{id: it.t.JobID, alg: h.name, rep: it.t.Reporter, done: make(chan answer, 1), notify: b.notify, batch: b})
		fixed[i], dirs[i] = it.t.Deadline, h.pool.artifactDir(it.t)
	}
	// The jobs' timeouts count from the batch's start (see BeginsLate).
	b.item = &item{runs: b.runs, begin: func() {
		for _, it := range items {
			it.t.Begin()
		}
	}}
	build := func(started bool) workerproto.Message {
		msg := &workerproto.Batch{Algorithm: h.name, Jobs: make([]workerproto.BatchJob, len(items))}
		for i, it := range items {
			j := workerproto.BatchJob{ID: it.t.JobID, Input: it.t.Input, Attempt: it.t.Attempt, Traceparent: it.t.Traceparent, OutputDir: dirs[i]}
			if len(j.Input) == 0 {
				j.Input = json.RawMessage("null")
			}
			deadline := fixed[i]
			if started {
				deadline = it.t.Deadline
			}
			if !deadline.IsZero() {
				d := deadline.UTC()
				j.Deadline = &d
			} else if !started && it.t.Timeout > 0 {
				j.Timeout = it.t.Timeout.Seconds() // from its start: it is held
			}
			msg.Jobs[i] = j
		}
		return msg
	}
	if h.observe != nil {
		h.observe(len(items))
	}
	h.wg.Go(func() { b.run(build) })
}

// shut refuses new jobs and fails those that wait for a batch.
func (h *batchHandler) shut() {
	h.mu.Lock()
	h.closed = true
	queued := h.queue
	h.queue = nil
	h.mu.Unlock()
	for _, it := range queued {
		it.done <- itemOutcome{err: errClosed}
	}
}

// Close stops forming batches, fails the jobs that wait for one, and
// stops the entry's worker processes (which ends the batches they run:
// their jobs fail as crashed). It returns nil.
func (h *batchHandler) Close() error {
	h.shut()
	h.cancel()
	h.pool.close()
	h.wg.Wait()
	return nil
}

// batchRun is a batch sent to a process: its jobs, and how many of them
// still have a Run waiting for their answer.
type batchRun struct {
	h      *batchHandler
	p      *proc
	item   *item // what the batch is to p
	items  []*batchItem
	runs   []*jobRun     // by item
	notify chan struct{} // a job of the batch was answered
	sent   chan struct{} // closed once the batch message is written (or failed)

	mu        sync.Mutex
	dropped   []bool
	live      int           // jobs not dropped
	abandoned chan struct{} // closed when live drops to 0
	over      bool          // run has returned, or is about to
}

// drop stops waiting for the answer of it, whose Run is leaving: the
// worker is sent a cancel for the job, and when no job of the batch is
// left, the batch is abandoned (see run).
func (b *batchRun) drop(it *batchItem) {
	b.mu.Lock()
	if b.dropped == nil {
		b.dropped = make([]bool, len(b.items))
	}
	i := slices.Index(b.items, it)
	if b.dropped[i] {
		b.mu.Unlock()
		return
	}
	b.dropped[i] = true
	b.live--
	if b.live == 0 {
		close(b.abandoned)
	}
	defer b.mu.Unlock()
	if b.over { // answered meanwhile: nothing to cancel
		return
	}
	// Under b.mu, while run has not returned: the handler's wait group
	// still counts run, so Close's Wait cannot have begun on a zero count.
	b.h.wg.Go(func() {
		<-b.sent // ends at the latest when the worker is killed
		_ = b.p.send(&workerproto.Cancel{ID: it.t.JobID})
	})
}

// run writes the batch message (made by build) and hands each job's
// answer to its Run as it comes. It ends when every job is answered, when
// the process exits (the jobs not answered yet crash), or when every job
// was dropped and the grace period has passed since: the process is then
// killed.
func (b *batchRun) run(build func(started bool) workerproto.Message) {
	p, pl := b.p, b.h.pool
	go func() { _ = p.sendItem(b.item, build); close(b.sent) }()
	answered := make([]bool, len(b.runs))
	pending := len(b.runs)
	abandoned := b.abandoned
	var grace <-chan time.Time
	exited := false
	for pending > 0 && !exited {
		select {
		case <-b.notify:
			p.settle() // what the batch printed before its answers is read
			pending -= b.collect(answered)
		case <-p.exited:
			exited = true
			pending -= b.collect(answered)
			b.crash(answered)
		case <-abandoned:
			abandoned = nil
			timer := time.NewTimer(pl.grace)
			defer timer.Stop()
			grace = timer.C
		case <-grace:
			grace = nil
			p.kill()
			pl.log.Warn("worker killed: it did not stop a batch within the grace period", "algorithm", b.h.name, "jobs", len(b.runs), "worker_pid", p.pid, "grace", pl.grace)
		}
	}
	b.mu.Lock()
	b.over = true
	b.mu.Unlock()
	for _, r := range b.runs {
		p.end(r)
	}
	<-b.sent
	if !exited {
		pl.release(p)
	}
}

// collect hands the answers that came to their Runs, and returns how many.
func (b *batchRun) collect(answered []bool) int {
	n := 0
	for i, r := range b.runs {
		if answered[i] {
			continue
		}
		select {
		case a := <-r.done:
			answered[i] = true
			n++
			out, err := a.outcome()
			b.items[i].done <- itemOutcome{out: out, route: a.route, err: err}
		default:
		}
	}
	return n
}

// crashError is the error of a job of the batch whose process exited.
func (b *batchRun) crashError() *conveyor.JobError {
	return &conveyor.JobError{
		Type:    conveyor.ErrorTypeCrashed,
		Message: fmt.Sprintf("the worker process (pid %d) %s while running the job's batch of %d", b.p.pid, b.p.status, len(b.runs)),
		Detail:  b.p.stderr.String(),
	}
}

// crash fails the jobs not answered as crashed: the process exited.
func (b *batchRun) crash(answered []bool) {
	p := b.p
	for i, r := range b.runs {
		if answered[i] {
			continue
		}
		answered[i] = true
		err := b.crashError()
		b.mu.Lock()
		dropped := b.dropped != nil && b.dropped[i]
		b.mu.Unlock()
		if !dropped {
			r.rep.Log("log", "conveyor: "+err.Message+"; a new worker replaces it")
		}
		b.items[i].done <- itemOutcome{err: err}
	}
	b.h.pool.log.Warn("worker crashed while running a batch", "algorithm", b.h.name, "jobs", len(b.runs), "worker_pid", p.pid, "status", p.status)
}

// Interface guards.
var (
	_ runner.Handler      = (*batchHandler)(nil)
	_ runner.LateBeginner = (*batchHandler)(nil)
	_ runner.Batcher      = (*batchHandler)(nil)
)

// Workers tells the runner how many processes the entry runs at most and
// how many jobs each holds at once (runner.SharedWorkers).
func (b *batchHandler) Workers() (processes, jobsEach int) { return b.pool.max, b.pool.conc }
