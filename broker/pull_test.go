package broker

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// queueJobs queues n fresh jobs of algorithm "pulled", with ids from
// prefix, and returns their ids.
func queueJobs(t *testing.T, b *Broker, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		j := &conveyor.Job{ID: prefix + string(rune('a'+i)), Algorithm: "pulled", Status: conveyor.StatusQueued, Input: []byte(`{}`), MaxAttempts: 1, CreatedAt: time.Now().UTC()}
		s, err := Unstored(j)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Enqueue(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

func collect(t *testing.T, pl *Puller, n int, wait time.Duration) []string {
	t.Helper()
	batch, err := pl.Pull(n, wait)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		q := m.Queued()
		if n, at := m.Deliveries(), m.Published(); n != 1 || time.Since(at) > time.Minute {
			t.Errorf("metadata of %s: delivered %d times, published %s", q.ID, n, at)
		}
		if err := m.Ack(); err != nil {
			t.Error(err)
		}
		got = append(got, q.ID)
	}
	if err := batch.Error(); err != nil {
		t.Errorf("pull ended with %v", err)
	}
	return got
}

// TestPuller pulls through one subscription: a batch that fills, one that
// the queue cannot fill (it ends when the server says so), pulls in flight
// at once, a long-poll that a later job fills, and Close ending a pull.
func TestPuller(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := context.Background()
	if _, err := b.Consumer(ctx, "pulled", conveyor.PriorityNormal); err != nil {
		t.Fatal(err)
	}
	pl := b.Puller("pulled", conveyor.PriorityNormal)
	defer pl.Close()

	ids := queueJobs(t, b, "first", 5)
	if got := collect(t, pl, 3, time.Second); len(got) != 3 || got[0] != ids[0] || got[2] != ids[2] {
		t.Fatalf("first pull of 3 got %v, want %v", got, ids[:3])
	}
	// Two left; a no-wait pull of 5 takes them and ends — once the
	// server has taken the acks of the first three (a no-wait pull the
	// server answers meanwhile may find none ready).
	testenv.Eventually(t, "the acks of the first pull taken", func() bool {
		c, err := b.js.Consumer(ctx, QueueStream, ConsumerName("pulled", conveyor.PriorityNormal))
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 2
	})
	if got := collect(t, pl, 5, 0); len(got) != 2 || got[0] != ids[3] {
		t.Fatalf("no-wait pull got %v, want %v", got, ids[3:])
	}
	// An empty queue ends a no-wait pull at once, with no error.
	if got := collect(t, pl, 2, 0); len(got) != 0 {
		t.Fatalf("pull of an empty queue got %v", got)
	}

	if pl.open() != 1 {
		t.Fatalf("three pulls one after the other opened %d lanes, want 1 used again", pl.open())
	}

	// Two long-polls in flight at once, filled by jobs queued later.
	b1, err := pl.Pull(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := pl.Pull(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	more := queueJobs(t, b, "later", 2)
	seen := map[string]bool{}
	for m := range b1.Messages() {
		seen[m.Queued().ID] = true
		_ = m.Ack()
	}
	for m := range b2.Messages() {
		seen[m.Queued().ID] = true
		_ = m.Ack()
	}
	if !seen[more[0]] || !seen[more[1]] {
		t.Fatalf("long-polls got %v, want %v", seen, more)
	}

	if pl.open() != 2 {
		t.Fatalf("two pulls at once left %d lanes, want 2", pl.open())
	}

	// A lost connection ends the pulls in flight at once (the server
	// forgot them), and retires their lanes.
	b4, err := pl.Pull(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.conn.Swap(newConnEpoch()).cancel() // as the disconnect handler does
	select {
	case m, ok := <-b4.Messages():
		if ok {
			t.Fatalf("a pull ended by a lost connection delivered %s", m.Queued().ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a pull in flight outlived its connection")
	}
	if pl.open() != 1 {
		t.Fatalf("%d lanes after the connection was lost, want 1 (the other retired)", pl.open())
	}
	// Pulls made after it work.
	later := queueJobs(t, b, "after", 1)
	if got := collect(t, pl, 1, 5*time.Second); len(got) != 1 || got[0] != later[0] {
		t.Fatalf("a pull after the lost connection got %v, want %v", got, later)
	}

	// Close ends a pull still waiting.
	b3, err := pl.Pull(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pl.Close()
	select {
	case m, ok := <-b3.Messages():
		if ok {
			t.Fatalf("closed pull delivered %s", m.Queued().ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a pull waiting when its Puller closed outlived Close")
	}
	if _, err := pl.Pull(1, 0); err == nil {
		t.Fatal("pull on a closed Puller succeeded")
	}
	if pl.open() != 0 {
		t.Fatalf("%d lanes left open after Close", pl.open())
	}
}

// TestPullerClosedIsReleased: a closed Puller is garbage: the connection it
// pulled on, which ends its pulls when lost, lets go of it.
func TestPullerClosedIsReleased(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	if _, err := b.Consumer(context.Background(), "pulled", conveyor.PriorityNormal); err != nil {
		t.Fatal(err)
	}
	pl := b.Puller("pulled", conveyor.PriorityNormal)
	if got := collect(t, pl, 1, 0); len(got) != 0 {
		t.Fatalf("pull of an empty queue got %v", got)
	}
	pl.Close()
	released := weak.Make(pl)
	pl = nil
	testenv.Eventually(t, "the closed Puller to be garbage", func() bool {
		runtime.GC()
		return released.Value() == nil
	})
}

// TestPullRequest: the request built by hand is the JSON the server reads,
// the same as the encoding of its fields.
func TestPullRequest(t *testing.T) {
	type request struct {
		Batch   int           `json:"batch"`
		Expires time.Duration `json:"expires,omitempty"`
		NoWait  bool          `json:"no_wait,omitempty"`
	}
	for _, tc := range []struct {
		n    int
		wait time.Duration
	}{{1, 0}, {5, 0}, {1, time.Second}, {4096, 10 * time.Second}} {
		want, err := json.Marshal(request{Batch: tc.n, Expires: tc.wait, NoWait: tc.wait == 0})
		if err != nil {
			t.Fatal(err)
		}
		if got := pullRequest(tc.n, tc.wait); string(got) != string(want) {
			t.Errorf("pullRequest(%d, %v) = %s, want %s", tc.n, tc.wait, got, want)
		}
	}
}
