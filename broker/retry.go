package broker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/backoff"
)

// publishRetry is how long the writes of the submit path are retried while
// the broker cannot take them: longer than the Raft election that follows
// the loss of a cluster node (4–9 s), and far shorter than the queue's
// duplicate window, so a retried publish is still recognised by its
// Nats-Msg-Id.
const publishRetry = 15 * time.Second

// attemptTimeout bounds one attempt, so that a request lost with a node
// (its reply never comes) is given up in time for another try rather than
// after the client's default 5s. An acknowledgement takes a millisecond.
// So does the create of a stream, but one that races another process's
// create of the same stream, in a cluster still settling, may never be
// answered: it is given up too, and the retry finds the stream made.
const attemptTimeout = 2 * time.Second

// retryBackoff spaces the tries of retryFor: 50 ms doubling up to 2 s,
// jittered.
var retryBackoff = backoff.Policy{Base: 50 * time.Millisecond, Max: 2 * time.Second}

// retry is retryFor for up to publishRetry.
func (b *Broker) retry(ctx context.Context, op func(ctx context.Context) error) error {
	return b.retryFor(ctx, publishRetry, op, nil)
}

// retryFor runs op, each try under attempt, until it succeeds, fails for
// good (see transient), ctx ends or d has passed since the first failure,
// and returns op's last error. onRetry, when not nil, is told of each
// failure that is tried again, and in how long. When nothing fails it
// costs next to nothing: one call of op, under a timeout the client
// library would otherwise set itself.
func (b *Broker) retryFor(ctx context.Context, d time.Duration, op func(ctx context.Context) error, onRetry func(err error, in time.Duration)) error {
	err := b.attempt(ctx, op)
	if err == nil || !transient(ctx, err) {
		return err
	}
	deadline := time.Now().Add(d)
	for try := 0; ; try++ {
		wait := retryBackoff.Delay(try)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		if onRetry != nil {
			onRetry(err, wait)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		err = b.attempt(ctx, op)
		if err == nil || !transient(ctx, err) {
			return err
		}
	}
}

// attempt runs op once, for at most attemptTimeout, and ends it early if
// the connection drops meanwhile: a request whose reply was lost with the
// connection is then retried at once instead of after the timeout.
func (b *Broker) attempt(ctx context.Context, op func(ctx context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	defer context.AfterFunc(b.conn.Load().ctx, cancel)()
	return op(actx)
}

// connEpoch lasts as long as one connection to a server: it is canceled
// when the connection drops.
type connEpoch struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newConnEpoch() *connEpoch {
	ctx, cancel := context.WithCancel(context.Background())
	return &connEpoch{ctx, cancel}
}

// watchConn makes every lost connection end the attempts in flight on it,
// keeping the connection's own disconnect handler. Call it once, with
// b.conn set.
func (b *Broker) watchConn() {
	prev := b.nc.DisconnectErrHandler()
	b.nc.SetDisconnectErrHandler(func(nc *nats.Conn, err error) {
		b.conn.Swap(newConnEpoch()).cancel()
		if prev != nil {
			prev(nc, err)
		}
	})
}

// Error codes of JetStream refusals that a cluster in flux gives, and that
// go away with it although their status is 400 (see nats-server's
// jetstream_errors_generated.go).
const (
	// errCodeNoPeers: no suitable peers for placement (a cluster short of
	// the nodes for the replicas asked, until they join).
	errCodeNoPeers jetstream.ErrorCode = 10005
	// errCodeMemberChange: a cluster member change is in progress.
	errCodeMemberChange jetstream.ErrorCode = 10202
	// errCodeStreamNameExists: a create raced another process's create of
	// the same stream with another configuration; the next try updates it.
	errCodeStreamNameExists jetstream.ErrorCode = 10058
)

// transient reports whether err, from a call under ctx, may go away by
// itself: a timeout, no responders while a stream elects its leader, a
// connection being re-established, a 5xx from JetStream, a cluster short
// of nodes or changing members.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	for _, perm := range []error{
		nats.ErrConnectionClosed, nats.ErrMaxPayload, nats.ErrBadSubject, nats.ErrInvalidMsg,
		jetstream.ErrKeyExists, jetstream.ErrKeyRevisionMismatch, jetstream.ErrMsgAlreadyAckd,
	} {
		if errors.Is(err, perm) {
			return false
		}
	}
	var jserr jetstream.JetStreamError
	if errors.As(err, &jserr) {
		api := jserr.APIError()
		if api == nil {
			return true
		}
		switch api.ErrorCode {
		case errCodeNoPeers, errCodeMemberChange, errCodeStreamNameExists:
			return true
		}
		if api.Code >= 400 && api.Code < 500 && api.Code != 408 {
			return false
		}
	}
	return true
}
