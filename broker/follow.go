package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Follower is an ordered consumer's messages being handed to a function
// (FollowQueue, FollowHistory).
type Follower struct {
	c      jetstream.Consumer
	handed atomic.Uint64 // the last message handed to fn
	// CaughtUp is closed once the messages there were when it started
	// have been handed over.
	CaughtUp <-chan struct{}
}

// Behind reports whether the follower has messages still to hand over:
// some stored and not delivered, or delivered and not handed over yet.
// Deleted messages (a canceled job's, a deleted job's) do not count. On an
// error it reports false.
func (f *Follower) Behind(ctx context.Context) bool {
	info, err := f.c.Info(ctx)
	return err == nil && (info.NumPending > 0 || f.handed.Load() < info.Delivered.Stream)
}

// follow hands the messages of the ordered consumer c to fn, in order, on
// one goroutine, until ctx ends; done is closed once fn has returned for
// the last time. what names the feed in errors.
func follow(ctx context.Context, c jetstream.Consumer, what string, fn func(jetstream.Msg, *jetstream.MsgMetadata)) (f *Follower, done <-chan struct{}, err error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s: %w", what, err)
	}
	caughtUp := make(chan struct{})
	f = &Follower{c: c, CaughtUp: caughtUp}
	var once sync.Once
	caught := func() { once.Do(func() { close(caughtUp) }) }
	if info.NumPending == 0 {
		caught()
	}
	// Stopping the consumer does not wait for a callback already running,
	// nor does waiting for it to close (its Closed may report closed while
	// the last callback still runs): fn runs under mu, and not at all once
	// stopping is set, which is set under mu.
	var mu sync.Mutex
	stopping := false
	cc, err := c.Consume(func(m jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopping {
			return
		}
		md, err := m.Metadata()
		if err != nil {
			return
		}
		fn(m, md)
		f.handed.Store(md.Sequence.Stream)
		if md.NumPending == 0 {
			caught()
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s: %w", what, err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer func() {
			cc.Stop()
			mu.Lock() // waits for fn, should it be running
			stopping = true
			mu.Unlock()
		}()
		// Messages deleted before they were handed over never come: ask
		// the consumer too.
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-caughtUp:
				<-ctx.Done()
				return
			case <-t.C:
				if !f.Behind(ctx) {
					caught()
				}
			}
		}
	}()
	return f, stopped, nil
}
