package broker

import (
	"context"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// TestSweepMutexes: a holder that turned final without passing its key on
// (its gateway died in between) has its key passed on by the sweep, and
// the next job queued — unless the caller's view says the holder still
// runs, which spares the read until a later sweep.
func TestSweepMutexes(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := context.Background()
	if _, err := b.Consumer(ctx, "locked", conveyor.PriorityNormal); err != nil {
		t.Fatal(err)
	}
	pl := b.Puller("locked", conveyor.PriorityNormal)
	defer pl.Close()

	for _, id := range []string{"holder", "next"} {
		j := &conveyor.Job{ID: id, Algorithm: "locked", Status: conveyor.StatusQueued, Input: []byte(`{}`),
			MaxAttempts: 1, Mutex: "k", CreatedAt: time.Now().UTC()}
		s, err := b.CreateJob(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.JoinMutex(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// queued pulls what is queued: want messages, waiting for them to
	// reach the consumer (a publish is acknowledged once stored, a little
	// before the consumer has it), or, for none, what comes within 300ms.
	queued := func(want int) []string {
		n, wait := want, 5*time.Second
		if want == 0 {
			n, wait = 5, 300*time.Millisecond
		}
		batch, err := pl.Pull(n, wait)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for m := range batch.Messages() {
			ids = append(ids, m.Queued().ID)
			_ = m.Ack()
		}
		return ids
	}
	if got := queued(1); len(got) != 1 || got[0] != "holder" {
		t.Fatalf("queued %v, want the holder alone", got)
	}
	if l, _, err := b.mutexLine(ctx, MutexID("", "k")); err != nil || l == nil || l.Holder != "holder" || !l.Queued {
		t.Fatalf("line after the joins: %+v, %v; want the holder, marked queued", l, err)
	}

	// The holder finishes; nobody passes its key on.
	if _, _, err := b.UpdateJob(ctx, "holder", nil, 0, func(j *conveyor.Job) error {
		if err := j.Start("r1", time.Now()); err != nil {
			return err
		}
		return j.Succeed(1, []byte(`{}`), time.Now())
	}); err != nil {
		t.Fatal(err)
	}

	// A caller whose view lags (the holder still running) sweeps nothing.
	running := func(string) (conveyor.Status, bool) { return conveyor.StatusRunning, true }
	if err := b.SweepMutexes(ctx, running); err != nil {
		t.Fatal(err)
	}
	if got := queued(0); len(got) != 0 {
		t.Fatalf("a sweep that took the holder for running queued %v", got)
	}

	// A sweep that reads the store passes the key on and queues the next.
	if err := b.SweepMutexes(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := queued(1); len(got) != 1 || got[0] != "next" {
		t.Fatalf("after the sweep queued %v, want next", got)
	}
	l, _, err := b.mutexLine(ctx, MutexID("", "k"))
	if err != nil || l == nil || l.Holder != "next" || !l.Queued || len(l.Line) != 0 {
		t.Fatalf("line after the sweep: %+v, %v", l, err)
	}
}

// TestStopping: the sweep leaves the key of a holder canceled after it
// started until its attempt has had time to stop (two heartbeats), and
// passes at once the key of one that ended otherwise or never started.
func TestStopping(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, c := range []struct {
		name string
		j    conveyor.Job
		want bool
	}{
		{"canceled while running, just now", conveyor.Job{Status: conveyor.StatusCanceled, StartedAt: at(-time.Second), FinishedAt: at(-time.Second)}, true},
		{"canceled while running, long ago", conveyor.Job{Status: conveyor.StatusCanceled, StartedAt: at(-time.Minute), FinishedAt: at(-11 * time.Second)}, false},
		{"canceled before it started", conveyor.Job{Status: conveyor.StatusCanceled, FinishedAt: at(-time.Second)}, false},
		{"failed just now", conveyor.Job{Status: conveyor.StatusFailed, StartedAt: at(-time.Second), FinishedAt: at(-time.Second)}, false},
	} {
		if got := stopping(&c.j, 5*time.Second, now); got != c.want {
			t.Errorf("%s: stopping %v, want %v", c.name, got, c.want)
		}
	}
}
