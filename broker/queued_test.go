package broker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestFollowQueueStop: when ctx ends while fn runs, the follower stops
// consuming at once but closes done only once fn has returned, so that
// whoever waits on done knows fn runs no more.
func TestFollowQueueStop(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	queueJobs(t, b, "follow", 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	subs := b.Conn().NumSubscriptions()
	_, done, err := b.FollowQueue(ctx, 0, func(QueuedMsg) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	cancel()
	// The consumer's subscription goes once the follower has stopped it.
	testenv.Eventually(t, "the follower to stop consuming", func() bool { return b.Conn().NumSubscriptions() <= subs })
	select {
	case <-done:
		t.Fatal("done was closed while fn was still running")
	default:
	}
	close(release)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("done was not closed after fn returned")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("fn was called %d times after ctx ended, want only the call running then", n)
	}
}
