package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// A job submitted without a mutex key or an idempotency key is first held
// by its queue message alone (see Unstored); its record is created by its
// first writer. Gateways follow the queue to know such jobs, and read their
// record from their message until the store has one.

// QueuedRecord returns the job record that the queue message at seq
// carries, or ENOTFOUND when the message is gone or carries none.
func (b *Broker) QueuedRecord(ctx context.Context, seq uint64) ([]byte, error) {
	st, err := b.queueStream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := b.getMsg(ctx, st, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, unavailable("read queue", err)
	}
	if err != nil || m.Header.Get(revHeader) == "" {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "queued job at %d not found", seq)
	}
	return m.Data, nil
}

// QueuedMsg is a queue message as FollowQueue hands it over.
type QueuedMsg struct {
	Seq  uint64
	Time time.Time
	// ID is the id of the job the message queues.
	ID string
	// Data is the record the message carries when the store does not
	// have it (see Unstored); nil otherwise: the job is stored, and its
	// submit finished (see the gateway's sweep).
	Data []byte
	// Origin is the Stored.Origin the message was queued with.
	Origin string
	// Due is set on the message the broker's scheduler queued for a
	// delayed job whose time came (see ScheduleJob); ID names the job.
	Due bool
}

// FollowQueue calls fn with every queue message after the one at sequence
// after (0: from the first retained), in order, until ctx ends; then it
// stops, and done is closed once fn has returned for the last time. fn
// runs on one goroutine.
func (b *Broker) FollowQueue(ctx context.Context, after uint64, fn func(QueuedMsg)) (f *Follower, done <-chan struct{}, err error) {
	return b.follow(ctx, b.orderedFrom(QueueStream, "conveyor.queue.>"), after, "the queue", func(m jetstream.Msg, md *jetstream.MsgMetadata) {
		q := QueuedMsg{Seq: md.Sequence.Stream, Time: md.Timestamp}
		// Only an unstored job's message is news, and a delayed job's.
		switch h := m.Headers(); {
		case h.Get(revHeader) == "0":
			q.Data, q.Origin = m.Data(), h.Get(originHeader)
			q.ID = h.Get(nats.MsgIdHdr)
			if i := strings.IndexByte(q.ID, '.'); i >= 0 {
				q.ID = q.ID[:i] // a pipeline stage's message: <id>.<step>
			}
		case h.Get(schedulerHeader) != "" && h.Get(jobHeader) != "":
			q.ID, q.Due = h.Get(jobHeader), true
		default:
			// A stored job's: its id, that its submit was finished.
			q.ID = h.Get(nats.MsgIdHdr)
			if i := strings.IndexByte(q.ID, '.'); i >= 0 {
				q.ID = q.ID[:i]
			}
		}
		fn(q)
	})
}

func (b *Broker) queueStream(ctx context.Context) (jetstream.Stream, error) {
	if st := b.queue.Load(); st != nil {
		return *st, nil
	}
	st, err := b.js.Stream(ctx, QueueStream)
	if err != nil {
		return nil, unavailable("read queue", err)
	}
	b.queue.Store(&st)
	return st, nil
}

// DeleteQueued removes the queue message at seq, so that no runner gets
// it: a job its message alone held was canceled. A runner that got it
// already learns of the cancel otherwise (see runner's unchanged).
func (b *Broker) DeleteQueued(ctx context.Context, seq uint64) error {
	st, err := b.queueStream(ctx)
	if err != nil {
		return err
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return unavailable("delete queued job", err)
	}
	return nil
}
