package runner

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// The runner's decisions on a queue message, against a fake broker: what
// it does with the message when the broker is down, when the job's record
// moved on, is not due yet, expired, or ran out of attempts. None of them
// may run the handler, lose the job, or keep the slot.

// fakeBroker is the broker as the start of an attempt sees it: UpdateJob
// applies the runner's change to record, or fails with err. The methods a
// test does not set are not called (the embedded nil interface panics).
type fakeBroker struct {
	brokerAPI
	record  *conveyor.Job
	rev     uint64
	err     error
	written *conveyor.Job // what UpdateJob wrote
}

func (f *fakeBroker) UpdateJob(_ context.Context, _ string, _ *conveyor.Job, _ uint64, change func(*conveyor.Job) error) (*conveyor.Job, uint64, error) {
	if f.err != nil {
		return nil, 0, f.err
	}
	j := *f.record
	if err := change(&j); err != nil {
		return &j, f.rev, err
	}
	f.written = &j
	return &j, f.rev + 1, nil
}

// fakeDelivery records what the runner did with the message.
type fakeDelivery struct {
	q broker.Queued

	mu     sync.Mutex
	did    string // "ack", "nak" or "nak-delay"
	delay  time.Duration
	others int // acks and naks after the first
}

func (d *fakeDelivery) answer(what string, delay time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.did != "" {
		d.others++
		return nil
	}
	d.did, d.delay = what, delay
	return nil
}

func (d *fakeDelivery) Queued() broker.Queued                  { return d.q }
func (d *fakeDelivery) Ack() error                             { return d.answer("ack", 0) }
func (d *fakeDelivery) Nak() error                             { return d.answer("nak", 0) }
func (d *fakeDelivery) NakWithDelay(delay time.Duration) error { return d.answer("nak-delay", delay) }
func (d *fakeDelivery) InProgress() error                      { return nil }
func (d *fakeDelivery) Deliveries() uint64                     { return 2 }
func (d *fakeDelivery) Published() time.Time                   { return time.Now() }

func TestStartDecisions(t *testing.T) {
	now := time.Now().UTC()
	later := now.Add(5 * time.Second)
	queued := conveyor.Job{ID: "01JOB", Algorithm: "a", Status: conveyor.StatusQueued, Input: json.RawMessage(`{}`), MaxAttempts: 3, CreatedAt: now}
	with := func(change func(j *conveyor.Job)) *conveyor.Job {
		j := queued
		change(&j)
		return &j
	}
	for _, c := range []struct {
		name   string
		broker *fakeBroker
		did    string
		delay  time.Duration // at least
	}{
		{"the broker is down", &fakeBroker{err: conveyor.Errorf(conveyor.EUNAVAILABLE, "no broker")}, "nak-delay", time.Second},
		{"the broker is out of room", &fakeBroker{err: conveyor.Errorf(conveyor.ESTORAGE, "disk full")}, "nak-delay", time.Second},
		{"the record expired", &fakeBroker{err: conveyor.Errorf(conveyor.ENOTFOUND, "no job")}, "ack", 0},
		{"canceled while queued", &fakeBroker{err: conveyor.Errorf(conveyor.ECONFLICT, "final")}, "ack", 0},
		{"a retry not due yet", &fakeBroker{record: with(func(j *conveyor.Job) { j.Attempt, j.RetryAt = 1, &later }), rev: 7}, "nak-delay", 4 * time.Second},
		{"a delayed job queued early", &fakeBroker{record: with(func(j *conveyor.Job) { j.RunAt = &later }), rev: 7}, "nak-delay", 4 * time.Second},
		// The one case that writes: the record, failed as crashed.
		{"interrupted with no attempts left", &fakeBroker{record: with(func(j *conveyor.Job) {
			j.Status, j.Attempt, j.MaxAttempts, j.StartedAt, j.Runner = conveyor.StatusRunning, 3, 3, &now, "gone"
		}), rev: 7}, "ack", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ran := false
			r := &Runner{b: c.broker, ctx: t.Context(), log: slog.New(slog.DiscardHandler), startFailures: throttle{every: time.Minute}}
			p := &pool{r: r, alg: conveyor.Algorithm{Name: "a"}, size: 1, changed: make(chan struct{}),
				handler: HandlerFunc(func(context.Context, *Task) (json.RawMessage, error) { ran = true; return nil, nil })}
			if !p.tryAcquire(false) {
				t.Fatal("no slot")
			}
			d := &fakeDelivery{q: broker.Queued{ID: queued.ID, Rev: 6}}
			r.process(p, d)
			if ran {
				t.Error("the handler ran")
			}
			if d.did != c.did || d.delay < c.delay || d.others != 0 {
				t.Errorf("the message: %s after %s (then %d more answers), want %s after at least %s", d.did, d.delay, d.others, c.did, c.delay)
			}
			if p.busy() != 0 {
				t.Errorf("%d slots still taken", p.busy())
			}
			if w := c.broker.written; w != nil && (w.Status != conveyor.StatusFailed || w.Error == nil || w.Error.Type != conveyor.ErrorTypeCrashed) {
				t.Errorf("the runner wrote %s %+v, want failed as crashed", w.Status, w.Error)
			}
		})
	}
}
