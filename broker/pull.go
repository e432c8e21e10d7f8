package broker

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// Puller asks one queue consumer for jobs, a pull request at a time, as
// jetstream's Fetch does, but through inbox subscriptions that outlive the
// requests: Fetch subscribes and unsubscribes once per call, and a runner
// whose jobs take microseconds pulls about once per job. A delivered job
// does not say which request it fills, so each request in flight has an
// inbox — a lane — of its own; a lane is used again once its request has
// ended cleanly, so there are never more lanes than requests once in
// flight at the same time.
type Puller struct {
	nc      *nats.Conn
	subject string                     // the consumer's next-message API subject
	conn    *atomic.Pointer[connEpoch] // the broker's current connection
	watched *connEpoch                 // the connection whose loss ends the pulls; under mu
	unwatch func() bool                // stops watching it; under mu

	mu     sync.Mutex
	idle   []*lane // lanes with no request in flight
	closed bool
	busy   map[*lane]struct{} // lanes with a request in flight
}

// lane is an inbox subscription and the pull in flight on it.
type lane struct {
	pl  *Puller
	sub *nats.Subscription
	cur *Batch // nil when idle
}

// Batch is one pull request in flight, and the jobs it brings.
type Batch struct {
	lane  *lane
	msgs  chan *Delivery
	left  int         // messages still to come
	timer *time.Timer // ends the pull should the server never say it ended
	err   error       // why it ended, if not a normal end; set before msgs closes
}

// Puller returns a Puller of the consumer of algorithm's queue of priority
// p, which must exist (see Consumer). Close it when done.
func (b *Broker) Puller(algorithm string, p conveyor.Priority) *Puller {
	return b.puller(ConsumerName(algorithm, p))
}

func (b *Broker) puller(consumer string) *Puller {
	return &Puller{
		nc:      b.nc,
		subject: fmt.Sprintf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", QueueStream, consumer),
		busy:    map[*lane]struct{}{},
		conn:    &b.conn,
	}
}

// Pull asks for up to n messages. With wait > 0 the request waits up to
// that long for them; with 0, it takes only those queued now. The batch's
// channel is closed when n messages came, the request expired, or the
// Puller closed; its Error then says why it ended if that was not a
// normal end (a timeout or an empty queue is normal).
func (pl *Puller) Pull(n int, wait time.Duration) (*Batch, error) {
	data := pullRequest(n, wait)
	pl.mu.Lock()
	l, err := pl.laneLocked()
	if err != nil {
		pl.mu.Unlock()
		return nil, err
	}
	u := &Batch{lane: l, msgs: make(chan *Delivery, n), left: n}
	l.cur = u
	pl.busy[l] = struct{}{}
	// The server ends a request it holds with a status message; one it
	// lost never ends that way. A lost connection loses them all: they end
	// then, and the pulls made after it wait for the next connection. Any
	// other loss (a failover of the consumer) ends a pull after its time.
	if c := pl.conn.Load(); c != pl.watched {
		if pl.unwatch != nil {
			pl.unwatch()
		}
		pl.watched, pl.unwatch = c, context.AfterFunc(c.ctx, pl.dropAll)
	}
	u.timer = time.AfterFunc(wait+time.Second, func() { pl.end(u, nil, false) })
	pl.mu.Unlock()
	if err := pl.nc.PublishRequest(pl.subject, l.sub.Subject, data); err != nil {
		pl.end(u, err, false)
		return nil, err
	}
	return u, nil
}

// pullRequest is the JSON of a request for n messages:
// {"batch":n,"expires":<wait in ns>}, or {"batch":n,"no_wait":true} to take
// only those queued now. It is built by hand rather than by json.Marshal,
// whose reflection takes about twice as long again, on every pull.
func pullRequest(n int, wait time.Duration) []byte {
	b := make([]byte, 0, 48)
	b = append(b, `{"batch":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	if wait > 0 {
		b = append(b, `,"expires":`...)
		b = strconv.AppendInt(b, int64(wait), 10)
	} else {
		b = append(b, `,"no_wait":true`...)
	}
	return append(b, '}')
}

// laneLocked returns an idle lane, opening one if there is none. pl.mu is
// held.
func (pl *Puller) laneLocked() (*lane, error) {
	if pl.closed {
		return nil, nats.ErrConnectionClosed
	}
	if k := len(pl.idle); k > 0 {
		l := pl.idle[k-1]
		pl.idle = pl.idle[:k-1]
		return l, nil
	}
	l := &lane{pl: pl}
	sub, err := pl.nc.Subscribe(pl.nc.NewInbox(), l.deliver)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	// Messages wait in the subscription only until deliver passes them on.
	_ = sub.SetPendingLimits(-1, -1)
	l.sub = sub
	return l, nil
}

// deliver passes a message of the lane's inbox to its pull.
func (l *lane) deliver(m *nats.Msg) {
	pl := l.pl
	pl.mu.Lock()
	defer pl.mu.Unlock()
	u := l.cur
	if len(m.Data) == 0 && m.Header.Get("Status") != "" {
		if u != nil {
			pl.endLocked(u, statusError(m), true)
		}
		return
	}
	if u == nil {
		// A job for a pull that ended here first: hand it back at once
		// rather than let it wait out its lease.
		_ = m.Respond(ackNak)
		return
	}
	u.msgs <- &Delivery{m}
	if u.left--; u.left == 0 {
		pl.endLocked(u, nil, true)
	}
}

// statusError is the error a status message ending a pull stands for: nil
// for the normal ends (a request that expired, a queue with no messages
// for a request that would not wait).
func statusError(m *nats.Msg) error {
	switch code := m.Header.Get("Status"); code {
	case "404", "408":
		return nil
	case "503":
		return jetstream.ErrNoStreamResponse
	default:
		return fmt.Errorf("pull: %s %s", code, m.Header.Get("Description"))
	}
}

func (pl *Puller) end(u *Batch, err error, clean bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.endLocked(u, err, clean)
}

// endLocked ends a pull, once. A lane whose request ended cleanly — all
// its messages came, or the server said it ended — is idle again; any
// other (the client gave up on its request) is closed, so that nothing
// the server still sends for the old request reaches a new one. pl.mu is
// held.
func (pl *Puller) endLocked(u *Batch, err error, clean bool) {
	l := u.lane
	if l.cur != u {
		return
	}
	l.cur = nil
	delete(pl.busy, l)
	u.timer.Stop()
	if clean && !pl.closed {
		pl.idle = append(pl.idle, l)
	} else {
		_ = l.sub.Unsubscribe()
	}
	u.err = err
	close(u.msgs)
}

// dropAll ends the pulls in flight, whose requests the server forgot with
// the connection, and retires their lanes.
func (pl *Puller) dropAll() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for l := range pl.busy {
		pl.endLocked(l.cur, nil, false)
	}
}

// Close ends the pulls in flight and drops the subscriptions. Messages
// that come for them later go back to the queue when their lease lapses.
func (pl *Puller) Close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return
	}
	pl.closed = true
	if pl.unwatch != nil {
		pl.unwatch() // the connection no longer holds on to pl
	}
	for l := range pl.busy {
		pl.endLocked(l.cur, nil, false)
	}
	for _, l := range pl.idle {
		_ = l.sub.Unsubscribe()
	}
	pl.idle = nil
}

// open returns how many lanes are open: every lane is idle or busy.
func (pl *Puller) open() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.idle) + len(pl.busy)
}

// Messages returns the pull's jobs; the channel is closed when the pull
// ends.
func (u *Batch) Messages() <-chan *Delivery { return u.msgs }

// Error returns why the pull ended, if not normally (a timeout or an
// empty queue is normal); call it once the channel is closed.
func (u *Batch) Error() error {
	u.lane.pl.mu.Lock()
	defer u.lane.pl.mu.Unlock()
	return u.err
}

// Acknowledgement bodies of the JetStream protocol.
var (
	ackAck      = []byte("+ACK")
	ackNak      = []byte("-NAK")
	ackProgress = []byte("+WPI")
)

// Delivery is a job's queue message as a Puller brought it: leased to this
// process until it is acknowledged (Ack) or handed back (Nak,
// NakWithDelay), or until its lease lapses — which InProgress extends.
type Delivery struct{ m *nats.Msg }

// Queued reads the message.
func (d *Delivery) Queued() Queued { return parseQueued(d.m.Data, d.m.Header) }

// Ack says the job is done with: the message is not delivered again.
func (d *Delivery) Ack() error { return d.m.Respond(ackAck) }

// Nak hands the message back, to be delivered again at once.
func (d *Delivery) Nak() error { return d.m.Respond(ackNak) }

// NakWithDelay hands the message back, to be delivered again after delay.
func (d *Delivery) NakWithDelay(delay time.Duration) error {
	return d.m.Respond(fmt.Appendf(nil, `-NAK {"delay": %d}`, delay.Nanoseconds()))
}

// InProgress extends the lease: the job is still being worked on.
func (d *Delivery) InProgress() error { return d.m.Respond(ackProgress) }

// Deliveries returns how many times the message was delivered, this one
// included (1: the first time); 0 when its reply subject does not say.
func (d *Delivery) Deliveries() uint64 {
	md, err := d.m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumDelivered
}

// Published returns when the message was queued; zero when its reply
// subject does not say.
func (d *Delivery) Published() time.Time {
	md, err := d.m.Metadata()
	if err != nil {
		return time.Time{}
	}
	return md.Timestamp
}
