package broker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// writes counts the requests to create or update a stream or consumer
// that are sent on nc.
func writes(t *testing.T, nc *nats.Conn) func() int {
	t.Helper()
	var subs []*nats.Subscription
	for _, subj := range []string{"$JS.API.STREAM.CREATE.>", "$JS.API.STREAM.UPDATE.>", "$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"} {
		sub, err := nc.SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	return func() int {
		t.Helper()
		// A request this connection sent has come back to it before the
		// reply to a flush.
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sub := range subs {
			k, _, err := sub.Pending()
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		return n
	}
}

// TestEnsureWritesOnlyChanges: of the processes that start on one broker
// only the first writes its streams, buckets and consumers; the others
// find them as wanted and leave them alone, unless they want them
// otherwise.
func TestEnsureWritesOnlyChanges(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := context.Background()
	count := writes(t, b.Conn())
	if _, err := b.CallbackQueue(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	first := count()
	if first == 0 {
		t.Fatal("the first CallbackQueue wrote nothing")
	}
	if _, err := Open(ctx, b.Conn(), b.Config()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CallbackQueue(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consumer(ctx, "ensured", "normal"); err != nil {
		t.Fatal(err)
	}
	consumer := count()
	if _, err := b.Consumer(ctx, "ensured", "normal"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != consumer || consumer != first+1 {
		t.Errorf("%d writes, then %d, then %d: want none but the new consumer's after the first CallbackQueue", first, consumer, n)
	}
	// Another lease is another consumer configuration.
	if _, err := b.CallbackQueue(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != consumer+1 {
		t.Errorf("CallbackQueue with another lease made %d writes, want 1", n-consumer)
	}
}
