package runner

import (
	"context"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// maxCallTime bounds a call whose caller sent no deadline.
const maxCallTime = 5 * time.Minute

// callOK is the result label of a call that returned its output; the
// others are "failed" and "timeout".
const callOK = "ok"

// subscribeCalls makes the pool answer synchronous calls of its algorithm
// until the subscription it returns is drained (see Stop): every call
// received by then is answered, whether it was running, waiting for a
// slot, or still in the subscription's queue.
//
// As many long-lived goroutines as the pool has slots take the calls in
// turn — no more can run at once — rather than a goroutine per call: a
// fresh goroutine's stack grows, by copying, while it decodes the input,
// which cost a short call several percent of its time.
func (p *pool) subscribeCalls() (broker.Subscription, error) {
	calls := make(chan *broker.CallRequest, 4*p.size)
	sub, err := p.r.b.ServeCalls(p.alg.Name, func(c *broker.CallRequest) {
		calls <- c // past the buffer, calls wait in the subscription's queue
	}, func() {
		// Once the subscription has handed over its last call (drained,
		// or the connection closed): none is left to come.
		close(calls)
	})
	if err != nil {
		return nil, err
	}
	for range p.size {
		p.r.wg.Add(1)
		go func() {
			defer p.r.wg.Done()
			for m := range calls {
				p.call(m)
			}
		}()
	}
	return sub, nil
}

// call runs one synchronous call in a slot of the pool and replies with its
// output or error. The call has no job record: no attempts, no retries, no
// progress or logs kept.
func (p *pool) call(c *broker.CallRequest) {
	deadline := time.Now().Add(maxCallTime)
	if !c.Deadline.IsZero() {
		deadline = c.Deadline
	}
	if t := p.alg.Timeout.Std(); t > 0 && time.Now().Add(t).Before(deadline) {
		deadline = time.Now().Add(t)
	}
	ctx, cancel := context.WithDeadlineCause(p.r.ctx, deadline, errTimeout)
	defer cancel()
	start := time.Now()
	var reply broker.Reply
	var jerr *conveyor.JobError
	if err := p.acquire(ctx, false); err != nil {
		jerr = &conveyor.JobError{Type: conveyor.ErrorTypeTimeout, Message: "no free worker before the deadline"}
	} else {
		task := &Task{JobID: "call-" + ulid.Make().String(), Algorithm: p.alg.Name, Input: c.Input, Attempt: 1, Deadline: deadline, Reporter: discard{}}
		// A call keeps no artifacts: what the handler writes in its
		// directory is removed with it.
		input, artDir, removeFiles, err := p.r.localFiles(ctx, p, task.Input, "")
		var out json.RawMessage
		if err == nil {
			task.Input, task.artifacts = input, artDir
			out, err = safeRun(conveyor.WithReporter(ctx, discard{}), p.handler, task)
		}
		removeFiles()
		p.release()
		switch {
		case ctx.Err() != nil && context.Cause(ctx) == errTimeout:
			jerr = &conveyor.JobError{Type: conveyor.ErrorTypeTimeout, Message: "the call ran past its deadline"}
		case ctx.Err() != nil:
			jerr = &conveyor.JobError{Type: conveyor.ErrorTypeInterrupted, Message: "the runner is shutting down"}
		case err != nil:
			jerr, _ = attemptError(err, nil, 0)
		default:
			reply.Output, reply.Route = out, task.Route()
		}
	}
	result := callOK
	if jerr != nil {
		reply = broker.Reply{Failed: jerr}
		result = "failed"
		if jerr.Type == conveyor.ErrorTypeTimeout {
			result = "timeout"
		}
	}
	p.metrics.call(result, time.Since(start))
	if err := c.Answer(reply); err != nil {
		p.r.log.Warn("reply to call", "algorithm", p.alg.Name, "err", err)
	}
}

// discard is the Reporter of a call: a call keeps no progress or logs.
type discard struct{}

func (discard) Progress(float64, string) {}
func (discard) Log(string, string)       {}
