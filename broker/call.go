package broker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor"
)

// The synchronous path: a gateway sends a call — the input of one
// algorithm — as a core NATS request to RunSubject, in which every runner
// of the algorithm is a member of the queue group CallQueue, so one runner
// answers. Nothing is stored: it is for short work whose caller waits.

// CallQueue is the queue group runners join for calls.
const CallQueue = "conveyor-runners"

// CallDeadlineHeader carries when the caller stops waiting, in Unix
// nanoseconds, so a runner does not start work nobody will read.
const CallDeadlineHeader = "Conveyor-Deadline"

// CallSubject is the subject of calls to algorithm.
func CallSubject(algorithm string) string { return "conveyor.call." + algorithm }

// CallErrorHeader marks a reply to a call that failed: its data is then
// the JSON of a conveyor.JobError. A reply without it carries the output.
const CallErrorHeader = "Conveyor-Error"

// CallFailed returns the error a call's reply carries, or nil when the
// reply carries the output.
func CallFailed(m *nats.Msg) *conveyor.JobError {
	if m.Header.Get(CallErrorHeader) == "" {
		return nil
	}
	je := &conveyor.JobError{}
	if err := json.Unmarshal(m.Data, je); err != nil {
		return &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: "unreadable error from the runner"}
	}
	return je
}

// Headers of a call's reply that steer a pipeline on the synchronous path,
// as the stage's output said (see conveyor.Route).
const (
	callFinalHeader = "Conveyor-Final"
	callNextHeader  = "Conveyor-Next"
)

// SetCallRoute marks a call's reply with route.
func SetCallRoute(m *nats.Msg, route conveyor.Route) {
	if route.Final {
		m.Header.Set(callFinalHeader, "true")
	}
	if route.Next != "" {
		m.Header.Set(callNextHeader, route.Next)
	}
}

// CallRoute returns the route a call's reply carries.
func CallRoute(m *nats.Msg) conveyor.Route {
	return conveyor.Route{Final: m.Header.Get(callFinalHeader) == "true", Next: m.Header.Get(callNextHeader)}
}

// ErrNoRunner is Call's error when no runner of the algorithm is there to
// answer.
var ErrNoRunner = errors.New("no live runner serves the algorithm")

// Reply is a runner's answer to a call: the output and the route it
// carries, or the error the work failed with.
type Reply struct {
	Output json.RawMessage
	Route  conveyor.Route
	// Failed is the work's failure; nil when it succeeded.
	Failed *conveyor.JobError
}

// Call sends input to one runner of algorithm and waits for its reply
// until ctx ends, telling the runner when the caller stops waiting (ctx's
// deadline). It returns ErrNoRunner when no runner answers calls of the
// algorithm, ctx's error when ctx ends first, and an EUNAVAILABLE error
// when the broker cannot be reached.
func (b *Broker) Call(ctx context.Context, algorithm string, input []byte) (Reply, error) {
	msg := nats.NewMsg(CallSubject(algorithm))
	msg.Data = input
	if deadline, ok := ctx.Deadline(); ok {
		msg.Header.Set(CallDeadlineHeader, strconv.FormatInt(deadline.UnixNano(), 10))
	}
	resp, err := b.Conn().RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return Reply{}, ErrNoRunner
	case ctx.Err() != nil:
		return Reply{}, ctx.Err()
	case err != nil:
		return Reply{}, unavailable("call", err)
	}
	if je := CallFailed(resp); je != nil {
		return Reply{Failed: je}, nil
	}
	return Reply{Output: resp.Data, Route: CallRoute(resp)}, nil
}

// CallRequest is a call a runner serves: the input, when the caller stops
// waiting, and the way to answer it.
type CallRequest struct {
	// Input is the call's input.
	Input []byte
	// Deadline is when the caller stops waiting; zero when it did not say.
	Deadline time.Time
	msg      *nats.Msg
}

// Answer sends the caller reply: the output and its route, or the
// failure. A caller gone already is no error.
func (c *CallRequest) Answer(reply Reply) error {
	m := nats.NewMsg(c.msg.Reply)
	if reply.Failed != nil {
		m.Header.Set(CallErrorHeader, reply.Failed.Type)
		m.Data, _ = json.Marshal(reply.Failed)
	} else {
		m.Data = reply.Output
		SetCallRoute(m, reply.Route)
	}
	if err := c.msg.RespondMsg(m); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return err
	}
	return nil
}

// ServeCalls hands serve every call of algorithm this process receives:
// the runners of the algorithm share its calls, each going to one of them.
// serve runs on the subscription's goroutine, one call at a time, and
// should hand the call on rather than do the work. Once the subscription
// is drained (see Subscription) — every call received by then handed to
// serve — closed is called.
func (b *Broker) ServeCalls(algorithm string, serve func(*CallRequest), closed func()) (Subscription, error) {
	sub, err := b.nc.QueueSubscribe(CallSubject(algorithm), CallQueue, func(m *nats.Msg) {
		c := &CallRequest{Input: m.Data, msg: m}
		if ns, err := strconv.ParseInt(m.Header.Get(CallDeadlineHeader), 10, 64); err == nil {
			c.Deadline = time.Unix(0, ns)
		}
		serve(c)
	})
	if err != nil {
		return nil, err
	}
	// The closed handler runs once the callback has returned for the
	// last time (drained, or the connection closed).
	sub.SetClosedHandler(func(string) { closed() })
	return sub, nil
}

// Subscription is a subscription to the broker's core messages: calls,
// cancels, doorbells. Drain stops it once what it received is handled;
// Unsubscribe at once.
type Subscription interface {
	Drain() error
	Unsubscribe() error
}
