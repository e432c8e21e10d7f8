package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
	m, err := st.GetMsg(ctx, seq)
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
	// Data is the record the message carries (nil for a large record,
	// which is in the store anyway).
	Data []byte
}

// FollowQueue calls fn with every queue message, from the first retained,
// in order, until ctx ends; caughtUp is closed once the messages there
// were when it started have been handed over. fn runs on one goroutine.
func (b *Broker) FollowQueue(ctx context.Context, fn func(QueuedMsg)) (caughtUp <-chan struct{}, err error) {
	c, err := b.js.OrderedConsumer(ctx, QueueStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"conveyor.queue.>"},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("follow the queue: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("follow the queue: %w", err)
	}
	done := make(chan struct{})
	var once sync.Once
	var handed atomic.Uint64 // the last message handed to fn
	caught := func() { once.Do(func() { close(done) }) }
	if info.NumPending == 0 {
		caught()
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		q := QueuedMsg{Seq: md.Sequence.Stream, Time: md.Timestamp}
		if m.Headers().Get(revHeader) != "" {
			q.Data = m.Data()
		}
		fn(q)
		handed.Store(q.Seq)
		if md.NumPending == 0 {
			caught()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("follow the queue: %w", err)
	}
	go func() {
		// Messages deleted before they were handed over (canceled jobs)
		// never come: ask the consumer too.
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				cc.Stop()
				return
			case <-done:
				<-ctx.Done()
				cc.Stop()
				return
			case <-t.C:
				if info, err := c.Info(ctx); err == nil && info.NumPending == 0 && handed.Load() >= info.Delivered.Stream {
					caught()
				}
			}
		}
	}()
	return done, nil
}

// QueueLastSeq returns the sequence of the last message queued.
func (b *Broker) QueueLastSeq(ctx context.Context) (uint64, error) {
	st, err := b.queueStream(ctx)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, unavailable("read queue", err)
	}
	return info.State.LastSeq, nil
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
