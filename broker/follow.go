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
	c      atomic.Pointer[jetstream.Consumer] // the consumer now; replaced when reopened
	handed atomic.Uint64                      // the last message handed to fn
	// CaughtUp is closed once the messages there were when it started
	// have been handed over.
	CaughtUp <-chan struct{}
}

// Behind reports whether the follower has messages still to hand over:
// some stored and not delivered, or delivered and not handed over yet.
// Deleted messages (a canceled job's, a deleted job's) do not count. On an
// error it reports false.
func (f *Follower) Behind(ctx context.Context) bool {
	behind, err := f.behind(ctx)
	return err == nil && behind
}

func (f *Follower) behind(ctx context.Context) (bool, error) {
	info, err := (*f.c.Load()).Info(ctx)
	if err != nil {
		return false, err
	}
	return info.NumPending > 0 || f.handed.Load() < info.Delivered.Stream, nil
}

// openFrom makes an ordered consumer of the messages after sequence after
// (0: from the first).
type openFrom func(ctx context.Context, after uint64) (jetstream.Consumer, error)

// orderedFrom returns the openFrom of the messages of stream on subject.
func (b *Broker) orderedFrom(stream, subject string) openFrom {
	return func(ctx context.Context, after uint64) (jetstream.Consumer, error) {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy}
		if after > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
		}
		return b.js.OrderedConsumer(ctx, stream, cfg)
	}
}

// follow hands the messages of the ordered consumer open makes to fn, in
// order, on one goroutine, until ctx ends; done is closed once fn has
// returned for the last time. what names the feed in errors and logs.
//
// An ordered consumer lives on one NATS node. When that node dies, the
// client library recreates it only after missed heartbeats, with a backoff
// of up to 10 s, and gives up if the stream has no leader yet (as Watch
// says of a bucket's watch). So follow also reopens the consumer, after
// the last message handed over, when it stalls: behind its stream (or
// unable to say), with nothing handed over, for two checks in a row.
func (b *Broker) follow(ctx context.Context, open openFrom, after uint64, what string, fn func(jetstream.Msg, *jetstream.MsgMetadata)) (f *Follower, done <-chan struct{}, err error) {
	c, err := open(ctx, after)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s: %w", what, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s: %w", what, err)
	}
	caughtUp := make(chan struct{})
	f = &Follower{CaughtUp: caughtUp}
	f.c.Store(&c)
	f.handed.Store(after)
	var once sync.Once
	caught := func() { once.Do(func() { close(caughtUp) }) }
	if info.NumPending == 0 {
		caught()
	}
	// Stopping a consumer does not wait for a callback already running,
	// nor does waiting for it to close (its Closed may report closed while
	// the last callback still runs): fn runs under mu, and only for the
	// consumer of the current generation, which changes under mu.
	var mu sync.Mutex
	gen := 0
	consume := func(c jetstream.Consumer) (jetstream.ConsumeContext, error) {
		mu.Lock()
		gen++
		mine := gen
		mu.Unlock()
		return c.Consume(func(m jetstream.Msg) {
			mu.Lock()
			defer mu.Unlock()
			if gen != mine {
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
	}
	retire := func(cc jetstream.ConsumeContext) {
		cc.Stop()
		mu.Lock() // waits for fn, should it be running
		gen++
		mu.Unlock()
	}
	cc, err := consume(c)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s: %w", what, err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer func() { retire(cc) }()
		// Messages deleted before they were handed over never come: ask
		// the consumer too.
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		check := time.NewTicker(stallCheck)
		defer check.Stop()
		stall, tries := progress{checked: after}, 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !f.Behind(ctx) {
					caught()
					t.Stop()
				}
				continue
			case <-check.C:
			}
			// A consumer that cannot say where it is (its node gone) is
			// as good as behind.
			if !stall.stalled(f.handed.Load(), func() bool {
				cctx, cancel := context.WithTimeout(ctx, stallCheck)
				defer cancel()
				behind, err := f.behind(cctx)
				return err != nil || behind
			}) {
				continue
			}
			// Stalled: the messages after the last one handed over, from
			// a consumer made anew.
			retire(cc)
			from := f.handed.Load()
			octx, cancel := context.WithTimeout(ctx, stallCheck)
			nc, err := open(octx, from)
			cancel()
			if err == nil {
				var ncc jetstream.ConsumeContext
				if ncc, err = consume(nc); err == nil {
					f.c.Store(&nc)
					cc, tries = ncc, 0
					b.cfg.Logger.Info("follower reopened", "feed", what, "after_seq", from)
					continue
				}
			}
			// cc is stopped: until a consumer opens, fn gets nothing, and
			// every check tries again, spaced out.
			d := reopenBackoff.Delay(tries)
			tries++
			b.cfg.Logger.Warn("follower stalled; reopening failed", "feed", what, "after_seq", from, "err", err, "retry_in", d.Round(time.Millisecond))
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
	}()
	return f, stopped, nil
}
