package broker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// A delayed job (status scheduled) is stored like a job with an
// idempotency key, and its queue message is handed to the broker's message
// scheduler instead of the queue: a schedule message on
// conveyor.delay.<job>, which the broker publishes on the job's queue
// subject at the job's time, and then purges. Until then no runner sees
// it, and nothing of ours keeps a timer: the schedule is stored and
// replicated with the queue stream, and survives restarts of every
// process.

const (
	delaySubjects    = "conveyor.delay.>"
	scheduleSubjects = "conveyor.schedule.>"
	fireSubjects     = "conveyor.fire.>"

	// The headers of the broker's message scheduler (nats-server ≥ 2.12).
	scheduleHeader       = "Nats-Schedule"
	scheduleTargetHeader = "Nats-Schedule-Target"
	scheduleTZHeader     = "Nats-Schedule-Time-Zone"
	// schedulerHeader is on every message the scheduler published: the
	// subject of the schedule that fired it.
	schedulerHeader = "Nats-Scheduler"
	// scheduleNextHeader is on every message the scheduler published: when
	// the schedule fires next ("purge" for a one-off).
	scheduleNextHeader = "Nats-Schedule-Next"
)

func delaySubject(id string) string { return "conveyor.delay." + id }

// DueMutexPrefix begins the Firing.Schedule of a delayed job with a mutex
// key that came due: "job.<id>" (no schedule name has a dot).
const DueMutexPrefix = "job."

// scheduleLead is how early the broker's scheduler queues a delayed job:
// it wakes at most every 250 ms, so a job due within 250 ms of its last
// wake-up would start up to that late. Queued early, the job is held by
// its runner (a redelivery at its time, see runner) and starts within
// milliseconds of it.
const scheduleLead = 300 * time.Millisecond

// ScheduleJob hands the queue message of s, a job stored as scheduled
// (see CreateJob), to the broker's scheduler, to be queued at s.Job.RunAt.
// Like Enqueue it is deduplicated on the job id and retried while the
// broker fails over.
func (b *Broker) ScheduleJob(ctx context.Context, s Stored) error {
	if s.Job.RunAt == nil || s.Job.Status != conveyor.StatusScheduled {
		return errors.New("broker: ScheduleJob of a job that is not scheduled")
	}
	queued, msgID := queueMessage(s)
	msg := nats.NewMsg(delaySubject(s.Job.ID))
	msg.Data = queued.Data
	msg.Header = queued.Header
	msg.Header.Set(jobHeader, s.Job.ID) // the scheduler drops the Nats-Msg-Id that names it otherwise
	// Sub-second precision: the server parses RFC 3339 with a fraction.
	// It fires scheduleLead early; the runner holds the job until its time.
	msg.Header.Set(scheduleHeader, "@at "+s.Job.RunAt.Add(-scheduleLead).UTC().Format(time.RFC3339Nano))
	target := queued.Subject
	if s.Job.Mutex != "" {
		// A job with a mutex key joins the line of its key at its time,
		// which the gateways do: its firing goes to them (see
		// ServeFirings), not to the queue.
		target = fireSubject(DueMutexPrefix + s.Job.ID)
	}
	msg.Header.Set(scheduleTargetHeader, target)
	err := b.retry(ctx, func(ctx context.Context) error {
		_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID("delay."+msgID))
		return err
	})
	if err != nil {
		return unavailable("schedule job", err)
	}
	return nil
}

// Unschedule removes the schedule of a delayed job, so that it is never
// queued: the job was canceled, or its submission undone. A job whose time
// came already was queued; its runner finds the record final and drops it.
func (b *Broker) Unschedule(ctx context.Context, id string) error {
	st, err := b.queueStream(ctx)
	if err != nil {
		return err
	}
	err = b.retry(ctx, func(ctx context.Context) error {
		return st.Purge(ctx, jetstream.WithPurgeSubject(delaySubject(id)))
	})
	if err != nil {
		return unavailable("unschedule job", err)
	}
	return nil
}
