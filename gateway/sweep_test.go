package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestSweepFinishesCutSubmits: records a gateway stored and died before
// queueing (as claim leaves them) are queued by the sweep of a gateway
// that runs later — an idempotency-keyed job with its key bound, a job
// with a mutex key, a delayed job — once each; a keyed job whose key went
// to another job (the client retried elsewhere) is removed; and a job
// whose submit was finished is not queued twice.
func TestSweepFinishesCutSubmits(t *testing.T) {
	grace, every := sweepGrace, sweepEvery
	sweepGrace, sweepEvery = 500*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { sweepGrace, sweepEvery = grace, every })

	_, b := brokertest.Open(t)
	ctx := t.Context()
	job := func(id string) *conveyor.Job {
		return &conveyor.Job{ID: id, Algorithm: "swept", Status: conveyor.StatusQueued, Input: []byte(`{}`),
			MaxAttempts: 1, Priority: conveyor.PriorityNormal, CreatedAt: time.Now().UTC()}
	}
	store := func(j *conveyor.Job) broker.Stored {
		t.Helper()
		s, err := b.CreateJob(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Cut short before the key was bound, and before anything was queued.
	keyed := job("01J00000000000000000SWEPT1")
	keyed.IdempotencyKey = "k1"
	store(keyed)
	// Cut short before joining the line of its mutex key.
	mutexed := job("01J00000000000000000SWEPT2")
	mutexed.Mutex = "m1"
	store(mutexed)
	// Cut short before its schedule was made.
	delayed := job("01J00000000000000000SWEPT3")
	at := time.Now().Add(1500 * time.Millisecond).UTC()
	delayed.Status, delayed.RunAt = conveyor.StatusScheduled, &at
	store(delayed)
	// Its key bound to another job since: the client's retry won.
	lost := job("01J00000000000000000SWEPT4")
	lost.IdempotencyKey = "k2"
	store(lost)
	winner := job("01J00000000000000000SWEPT5")
	winner.IdempotencyKey = "k2"
	s := store(winner)
	if _, _, claimed, err := b.ClaimIdempotencyKey(ctx, winner.Tenant, "k2", winner.ID, requestDigest(winner)); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := b.Enqueue(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Submitted whole: queued once, and only once.
	whole := job("01J00000000000000000SWEPT6")
	whole.Mutex = "m2"
	if err := b.JoinMutex(ctx, store(whole)); err != nil {
		t.Fatal(err)
	}

	started(t, Config{Broker: b})

	c, err := b.Consumer(ctx, "swept", conveyor.PriorityNormal)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(got) < 5 {
		batch, err := c.Fetch(10, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			got = append(got, broker.ParseQueued(m).ID)
			m.Ack()
		}
	}
	// A little longer, for a copy that should not come.
	if batch, err := c.Fetch(10, jetstream.FetchMaxWait(time.Second)); err == nil {
		for m := range batch.Messages() {
			got = append(got, broker.ParseQueued(m).ID)
		}
	}
	slices.Sort(got)
	want := []string{keyed.ID, mutexed.ID, delayed.ID, winner.ID, whole.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("queued %v, want each of %v once", got, want)
	}
	testenv.Eventually(t, "the job whose key went to another removed", func() bool {
		_, _, err := b.GetJob(ctx, lost.ID)
		return conveyor.ErrorCode(err) == conveyor.ENOTFOUND
	})
	if bound, _, claimed, err := b.ClaimIdempotencyKey(ctx, keyed.Tenant, "k1", "someone-else", "x"); err != nil || claimed || bound != keyed.ID {
		t.Fatalf("key k1 bound to %q (claimed by another: %v, %v), want %s", bound, claimed, err, keyed.ID)
	}
}
