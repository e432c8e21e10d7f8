package broker

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// goesDeaf is a consumer that stops handing messages over after its first
// n, as one on a node that died does until the client library notices.
type goesDeaf struct {
	jetstream.Consumer
	n int
}

func (c goesDeaf) Consume(h jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	var mu sync.Mutex
	left := c.n
	return c.Consumer.Consume(func(m jetstream.Msg) {
		mu.Lock()
		pass := left > 0
		left--
		mu.Unlock()
		if pass {
			h(m)
		}
	}, opts...)
}

// TestFollowReopensAStalledConsumer: a follower whose consumer stops
// handing messages over is made anew after the last message it handed
// over, and misses none, nor hands one over twice.
func TestFollowReopensAStalledConsumer(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	publish := func(n int) {
		for range n {
			if _, err := b.js.Publish(ctx, historySubject, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(3)
	var mu sync.Mutex
	var opens, handed []uint64
	ordered := b.orderedFrom(HistoryStream, historySubject)
	openf := func(ctx context.Context, after uint64) (jetstream.Consumer, error) {
		c, err := ordered(ctx, after)
		mu.Lock()
		defer mu.Unlock()
		if opens = append(opens, after); len(opens) == 1 {
			return goesDeaf{c, 3}, err
		}
		return c, err
	}
	f, done, err := b.follow(ctx, openf, 0, "the history", func(_ jetstream.Msg, md *jetstream.MsgMetadata) {
		mu.Lock()
		handed = append(handed, md.Sequence.Stream)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	<-f.CaughtUp
	publish(3)
	testenv.Eventually(t, "the messages after the stall handed over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handed) >= 6
	})
	mu.Lock()
	if want := []uint64{1, 2, 3, 4, 5, 6}; !slices.Equal(handed, want) {
		t.Errorf("handed over %v, want %v", handed, want)
	}
	if want := []uint64{0, 3}; !slices.Equal(opens, want) {
		t.Errorf("opened after %v, want %v", opens, want)
	}
	mu.Unlock()
	if f.Behind(ctx) {
		t.Error("the follower says it is behind after handing everything over")
	}
	cancel()
	<-done
}
