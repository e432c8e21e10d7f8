package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CallbackStream is the work queue of completion callbacks to deliver:
// subject conveyor.callbacks.<job id>, no data (the job record is the
// truth), at most one message per job at a time.
const CallbackStream = "CONVEYOR_CALLBACKS"

// callbackConsumer is the durable consumer every gateway shares.
const callbackConsumer = "callbacks"

// CallbackSubject is the subject of the delivery message of a job.
func CallbackSubject(jobID string) string { return "conveyor.callbacks." + jobID }

// CallbackQueue opens the callback work queue, creating or updating its
// stream and the consumer the gateways share if needed (retrying while the
// broker fails over, for up to 15s). ackWait is the lease of a
// delivery: a gateway renews it (InProgress) while its attempt runs, and
// the message of a gateway that stopped renewing — it died mid-attempt —
// goes to another after ackWait.
//
// The stream is a work queue (a message is gone once acknowledged) that
// keeps at most one message per subject and refuses a second
// (DiscardNewPerSubject): every gateway that sees a job turn final may
// queue its callback, and the stream keeps exactly one delivery in flight
// per job, whichever gateway queued it and whichever pulls it.
func (b *Broker) CallbackQueue(ctx context.Context, ackWait time.Duration) (*Callbacks, error) {
	err := b.retry(ctx, func(ctx context.Context) error {
		return b.ensureStream(ctx, jetstream.StreamConfig{
			Name:                 CallbackStream,
			Description:          "Conveyor completion callbacks to deliver, subject conveyor.callbacks.<job>",
			Subjects:             []string{"conveyor.callbacks.>"},
			Retention:            jetstream.WorkQueuePolicy,
			MaxMsgsPerSubject:    1,
			Discard:              jetstream.DiscardNew,
			DiscardNewPerSubject: true,
			MaxAge:               b.cfg.Retention,
			Storage:              jetstream.FileStorage,
			Replicas:             b.cfg.Replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", CallbackStream, err)
	}
	var c jetstream.Consumer
	err = b.retry(ctx, func(ctx context.Context) error {
		var err error
		c, err = b.ensureConsumer(ctx, CallbackStream, jetstream.ConsumerConfig{
			Durable:       callbackConsumer,
			Description:   "gateways delivering completion callbacks",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxDeliver:    -1, // attempts are counted and bounded on the job record
			MaxAckPending: 10_000,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", callbackConsumer, err)
	}
	return &Callbacks{c}, nil
}

// Callbacks is the queue of callback deliveries, as its takers see it.
type Callbacks struct{ c jetstream.Consumer }

// ErrNoLease is Next's error when nothing came to take for a while: take
// again.
var ErrNoLease = errors.New("nothing to take")

// Next takes the next delivery, waiting until one comes, ctx ends (ctx's
// error) or a while has passed (ErrNoLease), and returns the job whose
// callback it is, leased to the caller: see Lease.
func (q *Callbacks) Next(ctx context.Context) (jobID string, l Lease, err error) {
	msg, err := q.c.Next(jetstream.FetchContext(ctx))
	switch {
	case ctx.Err() != nil:
		return "", Lease{}, ctx.Err()
	case errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages):
		return "", Lease{}, ErrNoLease
	case err != nil:
		return "", Lease{}, unavailable("take a callback", err)
	}
	return strings.TrimPrefix(msg.Subject(), "conveyor.callbacks."), Lease{msg}, nil
}

// Lease is a message taken from a work queue: it is the taker's until its
// lease (the queue's ack wait) runs out, and then goes to another, unless
// the taker extends it, acknowledges it (done with) or gives it back.
type Lease struct{ msg jetstream.Msg }

// Extend renews the lease for another ack wait.
func (l Lease) Extend() error { return l.msg.InProgress() }

// Ack says the work is done: the message is gone.
func (l Lease) Ack() error { return l.msg.Ack() }

// Retry gives the message back, to be taken again after delay (at once
// for 0).
func (l Lease) Retry(delay time.Duration) error {
	if delay > 0 {
		return l.msg.NakWithDelay(delay)
	}
	return l.msg.Nak()
}

// QueueCallback queues the delivery of the callback of a final job. It is
// a no-op when a delivery of that job is already queued.
func (b *Broker) QueueCallback(ctx context.Context, jobID string) error {
	if !validKey(jobID) {
		return fmt.Errorf("queue callback: bad job id %q", jobID)
	}
	_, err := b.js.Publish(ctx, CallbackSubject(jobID), nil)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum messages per subject") {
		return nil
	}
	if err != nil {
		return unavailable("queue callback", err)
	}
	return nil
}
