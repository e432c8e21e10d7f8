package services

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
)

// TestMutexes: the key of a job that ends passes to the next in line when
// the service is told (Released), and by the sweep when nobody told it
// (the process that ended the job died first).
func TestMutexes(t *testing.T) {
	for _, told := range []bool{true, false} {
		name := map[bool]string{true: "released", false: "swept"}[told]
		t.Run(name, func(t *testing.T) {
			_, b := brokertest.Open(t)
			ctx := t.Context()
			every := time.Hour // told: no sweep to help
			if !told {
				every = 200 * time.Millisecond
			}
			m := NewMutexes(MutexesConfig{Broker: b, SweepEvery: every})
			m.Start(ctx)
			t.Cleanup(m.Stop)

			var jobs []*conveyor.Job
			for i := range 2 {
				j := &conveyor.Job{ID: "01J0000000000000000MUTEX" + string(rune('A'+i)) + name[:1], Algorithm: "m", Status: conveyor.StatusQueued,
					Input: []byte(`{}`), MaxAttempts: 1, Priority: conveyor.PriorityNormal, Mutex: "k", CreatedAt: time.Now().UTC()}
				s, err := b.CreateJob(ctx, j)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.JoinMutex(ctx, s); err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, j)
			}
			c, err := b.Consumer(ctx, "m", conveyor.PriorityNormal)
			if err != nil {
				t.Fatal(err)
			}
			next := func() string {
				batch, err := c.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				for msg := range batch.Messages() {
					_ = msg.Ack()
					return broker.ParseQueued(msg).ID
				}
				return ""
			}
			if got := next(); got != jobs[0].ID {
				t.Fatalf("queued first: %q, want the holder %s", got, jobs[0].ID)
			}
			// The first ends (canceled, as a gateway would).
			if _, _, err := b.UpdateJob(ctx, jobs[0].ID, nil, 0, func(j *conveyor.Job) error { return j.Cancel(time.Now()) }); err != nil {
				t.Fatal(err)
			}
			if told {
				m.Released(jobs[0].Tenant, "k", jobs[0].ID)
			}
			if got := next(); got != jobs[1].ID {
				t.Fatalf("queued next: %q, want %s, to which the key passed", got, jobs[1].ID)
			}
		})
	}
}
