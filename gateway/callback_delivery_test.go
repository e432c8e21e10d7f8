package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/services"
)

// hooks is a callback receiver that answers 204 and counts the POSTs of
// each job.
type hooks struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newHooks(t *testing.T) *hooks {
	h := &hooks{got: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.got[r.Header.Get("X-Conveyor-Job")]++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) jobs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// TestCallbackQueueStallsNothing: while the broker does not answer the
// gateway's publishes to the callback queue, the gateway still sees every
// job change — noting a callback never holds up the watch that feeds its
// views, however many pile up — and once the broker answers again, every
// callback noted meanwhile is queued and delivered: none is dropped.
func TestCallbackQueueStallsNothing(t *testing.T) {
	emb, b := brokertest.Open(t)
	h := newHooks(t)
	g, err := New(Config{Broker: b, Callbacks: services.CallbackConfig{
		AllowHosts: []string{strings.TrimPrefix(h.srv.URL, "http://")}, Backoff: 50 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)

	// The callback queue stops answering: its stream is gone, and a
	// subscriber that never replies takes its subjects, so each publish
	// waits out its timeout — as it would on a stream with no leader.
	ctx := t.Context()
	if err := b.JetStream().DeleteStream(ctx, broker.CallbackStream); err != nil {
		t.Fatal(err)
	}
	hole, err := emb.Connect("black hole")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	sub, err := hole.Subscribe("conveyor.callbacks.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := hole.Flush(); err != nil {
		t.Fatal(err)
	}

	// More finished jobs with a callback than the 1024 the gateway once
	// buffered before its watch had to wait.
	const n = 1100
	now := time.Now().UTC()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ulid.Make().String()
		j := &conveyor.Job{
			ID: ids[i], Algorithm: "is_prime", Status: conveyor.StatusSucceeded, Input: []byte(`{"n":7}`),
			Output: []byte(`{"prime":true}`), Attempt: 1, MaxAttempts: 1, CreatedAt: now, StartedAt: &now, FinishedAt: &now,
			Callback: &conveyor.Callback{URL: h.srv.URL + "/hook"},
		}
		if _, err := b.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "the gateway's index to see every job while callbacks cannot be queued", func() bool {
		for _, id := range ids {
			if !g.disk.Final(ctx, id) {
				return false
			}
		}
		return true
	})
	if got := h.jobs(); got != 0 {
		t.Fatalf("%d callbacks delivered with no queue", got)
	}

	// The queue answers again.
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CallbackQueue(ctx, services.CallbackLease); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "every callback delivered", func() bool { return h.jobs() == n })
}

// TestCallbackLeaseRenewed: a delivery slower than its lease is renewed
// while it runs, so no other gateway takes it over: one POST, one attempt.
func TestCallbackLeaseRenewed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out more than a lease")
	}
	_, b := brokertest.Open(t)
	release := make(chan struct{})
	var mu sync.Mutex
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		first := posts == 1
		mu.Unlock()
		if first {
			// Held past the lease, until the test lets go, or the
			// client leaves: a test that fails first must not hang in
			// srv.Close. The server notices a client leave only once the
			// body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var gws []*Gateway
	for range 2 {
		g, err := New(Config{Broker: b, Logger: slog.New(slog.DiscardHandler), Callbacks: services.CallbackConfig{
			AllowHosts: []string{strings.TrimPrefix(srv.URL, "http://")}, Timeout: time.Minute, Backoff: 50 * time.Millisecond,
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer g.Stop()
		gws = append(gws, g)
	}
	now := time.Now().UTC()
	j := &conveyor.Job{
		ID: ulid.Make().String(), Algorithm: "is_prime", Status: conveyor.StatusSucceeded, Input: []byte(`{"n":7}`),
		Attempt: 1, MaxAttempts: 1, CreatedAt: now, FinishedAt: &now, Callback: &conveyor.Callback{URL: srv.URL},
	}
	if _, err := b.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the first POST", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return posts == 1
	})
	// Hold the POST for two leases: without renewal the message would go
	// to a gateway again after one.
	held := time.NewTimer(2 * services.CallbackLease)
	<-held.C
	close(release)
	// Read as a client would: the job, delivered, leaves the store for
	// the history.
	get := func() *conveyor.Job {
		data, _, err := gws[0].record(context.Background(), j.ID)
		if err != nil {
			return nil
		}
		var got conveyor.Job
		if json.Unmarshal(data, &got) != nil {
			return nil
		}
		return &got
	}
	testenv.Eventually(t, "the callback recorded as delivered", func() bool {
		got := get()
		return got != nil && got.Callback.DeliveredAt != nil
	})
	got := get()
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 || got.Callback.Attempts != 1 {
		t.Fatalf("%d POSTs, callback %+v; want one of each", posts, got.Callback)
	}
}
