//go:build unix

package workerkind

import (
	"slices"

	"github.com/conveyor-run/conveyor/workerproto"
)

// maxResends bounds how many times a job (or batch) held by a process
// that died before starting it is sent to another process: it never ran,
// so it keeps its attempt, but a job whose mere presence kills processes
// must not go round for ever. Past it the job fails as crashed.
const maxResends = 3

// item is what takes one slot of a worker process: a job, or a batch of
// jobs. A process starts the items it is sent in the order they came, up
// to its concurrency at once; those sent beyond that (prefetched, up to
// its prefetch) it holds until one of its running items ends.
//
// The runner needs no message to learn that a held item started: the
// worker writes the answer that frees a slot before it starts the next
// item, so reading that answer tells the runner that the oldest held
// item runs now (proc.answer). Pipe order makes this exact: when a
// process exits, every answer it wrote has been read, and an item still
// held then never ran.
type item struct {
	runs []*jobRun
	// begin, if set, arms the timeouts of the item's jobs; it is called
	// once, when the worker starts the item.
	begin func()

	// Guarded by the proc's mu:
	open    int  // runs not answered
	started bool // the worker runs it (or ran it)
}

// sendItem registers the jobs of it with p and writes its message, in
// the order of the items sent before it: the worker starts it at once if
// a slot is free and nothing is held before it; otherwise it holds it.
// build makes the message, knowing which (a started item's jobs carry a
// deadline, a held one's their timeout). It returns the write's error: a
// worker that does not read blocks it, one that is gone fails it.
func (p *proc) sendItem(it *item, build func(started bool) workerproto.Message) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.mu.Lock()
	it.open = len(it.runs)
	for _, r := range it.runs {
		r.it = it
		p.runs[r.id] = r
	}
	started := p.running < p.conc && len(p.items) == p.running
	it.started = started
	if started {
		p.running++
		p.gpuStartLocked(it)
	}
	p.items = append(p.items, it)
	p.mu.Unlock()
	if started && it.begin != nil {
		it.begin()
	}
	return p.w.Write(build(started))
}

// answered records the answer of r. When it is the last of its item's,
// the item leaves the process; if it was running, its slot frees and the
// oldest held item starts. p.mu is held.
func (p *proc) answeredLocked(r *jobRun) {
	it := r.it
	if it == nil || r.answered {
		return
	}
	r.answered = true
	p.gpuEndLocked(r)
	it.open--
	if it.open > 0 {
		return
	}
	i := slices.Index(p.items, it)
	if i < 0 {
		return
	}
	p.items = slices.Delete(p.items, i, i+1)
	if it.started {
		p.running--
	}
	for p.running < p.conc && p.running < len(p.items) {
		next := p.items[p.running]
		next.started = true
		p.running++
		p.gpuStartLocked(next)
		if next.begin != nil {
			next.begin()
		}
	}
}

// began reports whether the worker started it: an item still held
// when its process exited never ran.
func (p *proc) began(it *item) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return it.started
}
