//go:build unix

package workerkind

import (
	"errors"
	"io"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/workerproto"
)

// readProtocol reads the worker's fd 4 until EOF: the hello first, then
// the messages of the jobs it runs. A malformed line is reported (in the
// running job's log and the runner's log) and skipped; it never ends the
// worker, except during the handshake, where anything but a hello fails
// the start.
func (p *proc) readProtocol(r io.Reader) {
	rd := workerproto.NewReader(r)
	for {
		m, err := rd.Next()
		var de *workerproto.DecodeError
		switch {
		case errors.As(err, &de):
			p.malformed(de)
			continue
		case err != nil:
			return // before a hello, the handshake learns of the exit
		}
		if !p.greeted {
			h, ok := m.(*workerproto.Hello)
			if !ok {
				p.greet(nil, errors.New("its first protocol message is a "+m.Type()+", not a hello"))
				continue
			}
			p.greet(h, nil)
			continue
		}
		p.dispatch(m)
	}
}

// greet delivers the outcome of the handshake, once.
func (p *proc) greet(h *workerproto.Hello, err error) {
	if p.greeted {
		return
	}
	p.greeted = true
	p.hello <- helloResult{h, err}
}

// malformed reports a line that is not a protocol message.
func (p *proc) malformed(de *workerproto.DecodeError) {
	if !p.greeted {
		p.greet(nil, de)
		return
	}
	if de.Unknown {
		p.log.Info("skipping a worker message of a type this runner does not know", "err", de)
		return
	}
	runs, _ := p.only()
	if runs == nil {
		p.log.Warn("worker sent a malformed protocol line", "err", de)
		return
	}
	for _, r := range runs {
		p.log.Warn("worker sent a malformed protocol line", "job_id", r.id, "algorithm", r.alg, "err", de)
		r.rep.Log("log", "conveyor: the worker sent a "+de.Error())
		if de.TooLong {
			// Most likely the job's answer: it will not come. (In a
			// batch, any job's: those not answered yet fail.)
			p.answer(r, answer{fail: conveyor.Permanent(&conveyor.JobError{
				Type:    conveyor.ErrorTypeError,
				Message: "the worker sent a protocol line longer than the 16 MiB limit (an output too large?)",
			})})
		}
	}
}

// dispatch hands a message of the running job to it.
func (p *proc) dispatch(m workerproto.Message) {
	id := messageID(m)
	if l, ok := m.(*workerproto.Log); ok && l.ID == "" {
		p.log.Info("worker log", "level", l.Level, "message", l.Message)
		return
	}
	r := p.run(id)
	if r == nil {
		p.log.Warn("worker sent a message for a job it is not running", "type", m.Type(), "job_id", id)
		return
	}
	switch m := m.(type) {
	case *workerproto.Progress:
		r.rep.Progress(m.Percent, m.Message)
	case *workerproto.Log:
		if m.Stream == "stdout" || m.Stream == "stderr" {
			if m.Stream == "stderr" { // the tail of stderr explains a crash
				p.stderr.Add(m.Message)
			}
			r.rep.Log(m.Stream, m.Message)
			return
		}
		line := m.Message
		if lv := strings.ToLower(m.Level); lv != "" && lv != "info" {
			line = strings.ToUpper(lv) + ": " + line
		}
		r.rep.Log("log", line)
	case *workerproto.Result:
		p.answer(r, answer{output: m.Output, route: conveyor.Route{Final: m.Final, Next: m.Next}})
	case *workerproto.Error:
		p.answer(r, answer{err: m})
	default:
		p.log.Warn("worker sent a message only a runner may send", "type", m.Type(), "job_id", r.id, "algorithm", r.alg)
	}
}

// answer delivers the end of the job r, once, after recording it: the
// answer that frees a slot of the worker starts its oldest held item. The
// job stays current until its Run has settled the worker's output.
func (p *proc) answer(r *jobRun, a answer) {
	p.mu.Lock()
	p.answeredLocked(r)
	p.mu.Unlock()
	select {
	case r.done <- a:
	default: // answered already
		return
	}
	if r.notify != nil {
		select {
		case r.notify <- struct{}{}:
		default: // its batch is told already
		}
	}
}

func messageID(m workerproto.Message) string {
	switch m := m.(type) {
	case *workerproto.Progress:
		return m.ID
	case *workerproto.Log:
		return m.ID
	case *workerproto.Result:
		return m.ID
	case *workerproto.Error:
		return m.ID
	case *workerproto.Job:
		return m.ID
	case *workerproto.Cancel:
		return m.ID
	}
	return ""
}
