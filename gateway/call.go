package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// defaultCallTimeout is how long a synchronous call waits without ?timeout=.
const defaultCallTimeout = 30 * time.Second

// handleCall is POST /v1/algorithms/{name}/run (the body is the input) and
// GET /v1/algorithms/{name}/run?field=value… (scalar inputs from the query
// string): the synchronous path. The input goes to one runner of the
// algorithm as a core NATS request, through the same bounded pool as its
// queued jobs; nothing is stored. 200 with the output; 400 for an input the
// schema rejects; 422 when the algorithm fails; 502 when the service an
// http algorithm forwards to cannot be reached; 503 when no runner serves
// it; 504 past ?timeout= (default 30s).
func (g *Gateway) handleCall(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := mayUse(r.Context(), name); err != nil {
		g.writeError(w, r, err)
		return
	}
	alg, err := g.reg.algorithm(name)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if alg.err != nil {
		g.writeError(w, r, conveyor.Errorf(conveyor.EUNAVAILABLE, "algorithm %s has an invalid input schema: %v", name, alg.err))
		return
	}
	timeout, err := g.callTimeout(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	var input []byte
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if err = checkQueryUTF8(q); err == nil {
			input, err = alg.query.input(q)
		}
	} else {
		input, err = g.readBody(w, r)
		input = bytes.TrimSpace(input)
		if err == nil {
			err = checkDepth(input)
		}
		if err == nil {
			err = checkUTF8(input)
		}
	}
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	if err := alg.input.Validate(input); err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := g.checkRequestFiles(r.Context(), input); err != nil {
		g.writeError(w, r, err)
		return
	}
	var out json.RawMessage
	if alg.Pipeline != nil {
		out, err = g.callPipeline(r.Context(), alg.Pipeline, input, timeout)
	} else {
		out, _, err = g.call(r.Context(), name, input, timeout)
	}
	if err != nil {
		if r.Context().Err() == nil {
			g.writeError(w, r, err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
	_, _ = w.Write([]byte{'\n'})
}

// callPipeline runs a pipeline on the synchronous path: one call per
// stage, each stage's output the next one's input, all within timeout. The
// stages steer it as they do a pipeline job, and the step limit holds.
func (g *Gateway) callPipeline(ctx context.Context, p *conveyor.Pipeline, input []byte, timeout time.Duration) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	for stage := p.First(); ; {
		out, route, err := g.call(ctx, stage.Name, input, time.Until(deadline))
		if err != nil {
			var ce *conveyor.Error
			if !errors.As(err, &ce) {
				return nil, err
			}
			named, msg := *ce, ce.Message
			var je *conveyor.JobError
			if errors.As(err, &je) { // the stage failed: its error, not "<stage> failed: …"
				msg = je.Error()
			}
			named.Message = stage.Prefix(msg)
			return nil, &named
		}
		if p.Ends(stage, route) {
			return out, nil
		}
		if stage, err = p.After(stage, route, out); err != nil {
			// A route to nowhere, or too many steps: the call fails, as
			// the job would. An error without a code stays internal.
			var ce *conveyor.Error
			if !errors.As(err, &ce) {
				return nil, err
			}
			return nil, &conveyor.Error{Code: conveyor.EFAILED, Message: ce.Message}
		}
		input = out
	}
}

// call sends one call and returns its output and the route its reply
// carries, or the error to answer with.
func (g *Gateway) call(ctx context.Context, name string, input []byte, timeout time.Duration) (json.RawMessage, conveyor.Route, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := g.b.Call(ctx, name, input)
	switch {
	case errors.Is(err, broker.ErrNoRunner):
		return nil, conveyor.Route{}, conveyor.Errorf(conveyor.EUNAVAILABLE, "no live runner serves %s", name)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, conveyor.Route{}, conveyor.Errorf(conveyor.ETIMEOUT, "no answer from %s within %s", name, timeout)
	case err != nil:
		return nil, conveyor.Route{}, &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: "the broker is unavailable", Err: err}
	}
	if je := reply.Failed; je != nil {
		switch je.Type {
		case conveyor.ErrorTypeTimeout:
			return nil, conveyor.Route{}, conveyor.Errorf(conveyor.ETIMEOUT, "%s: %s", name, je.Message)
		case conveyor.ErrorTypeUnreachable:
			// Not the algorithm's failure, nor the caller's: its service
			// is down.
			return nil, conveyor.Route{}, &conveyor.Error{Code: conveyor.EBADGATEWAY, Message: name + ": " + je.Message, Err: je}
		}
		return nil, conveyor.Route{}, &conveyor.Error{Code: conveyor.EFAILED, Message: name + " failed: " + je.Error(), Err: je}
	}
	return reply.Output, reply.Route, nil
}

// callTimeout reads ?timeout=, capped like ?wait=.
func (g *Gateway) callTimeout(r *http.Request) (time.Duration, error) {
	s := r.URL.Query().Get("timeout")
	if s == "" {
		return defaultCallTimeout, nil
	}
	var d conveyor.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil || d <= 0 {
		return 0, conveyor.Errorf(conveyor.EINVALID, "timeout %q: want a positive duration like 5s", s)
	}
	return min(d.Std(), g.cfg.MaxWait), nil
}
