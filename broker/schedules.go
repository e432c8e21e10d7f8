package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// A recurring schedule is two things in the broker: its definition and
// state in the schedules bucket (key = name), and a schedule message on
// conveyor.schedule.<name> in the queue stream, which the broker's own
// message scheduler fires — once per period on a cluster, replicated, with
// no leader election of ours — as a message on conveyor.fire.<name>. The
// processes that serve firings share one durable consumer of those, so
// each firing reaches one of them (see ServeFirings).

// SchedulesBucket holds the recurring schedules, key = name.
const SchedulesBucket = "conveyor_schedules"

// firingsConsumer is the durable consumer of firings the gateways share.
const firingsConsumer = "schedule_firings"

func scheduleSubject(name string) string { return "conveyor.schedule." + name }
func fireSubject(name string) string     { return "conveyor.fire." + name }

// PutSchedule writes s by compare-and-swap: created when rev is 0 (ECONFLICT
// if it exists), else updated only if still at rev (ECONFLICT if someone
// wrote in between). It returns the new revision.
func (b *Broker) PutSchedule(ctx context.Context, s *conveyor.Schedule, rev uint64) (uint64, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		rev, err = b.schedules.Create(ctx, s.Name, data)
	} else {
		rev, err = b.schedules.Update(ctx, s.Name, data, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		return 0, conveyor.Errorf(conveyor.ECONFLICT, "schedule %s already exists", s.Name)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSequence(err):
		return 0, conveyor.Errorf(conveyor.ECONFLICT, "schedule %s changed meanwhile", s.Name)
	case err != nil:
		return 0, unavailable("store schedule", err)
	}
	return rev, nil
}

// GetSchedule reads schedule name and its revision; ENOTFOUND when there is
// none.
func (b *Broker) GetSchedule(ctx context.Context, name string) (*conveyor.Schedule, uint64, error) {
	if !validScheduleName(name) {
		return nil, 0, conveyor.Errorf(conveyor.ENOTFOUND, "schedule %q not found", name)
	}
	e, err := b.schedules.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, conveyor.Errorf(conveyor.ENOTFOUND, "schedule %q not found", name)
	}
	if err != nil {
		return nil, 0, unavailable("read schedule", err)
	}
	var s conveyor.Schedule
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return nil, 0, fmt.Errorf("schedule %s: %w", name, err)
	}
	return &s, e.Revision(), nil
}

// Schedules returns every schedule, by name.
func (b *Broker) Schedules(ctx context.Context) ([]conveyor.Schedule, error) {
	l, err := b.schedules.ListKeys(ctx)
	if err != nil {
		return nil, unavailable("list schedules", err)
	}
	defer l.Stop()
	var out []conveyor.Schedule
	for name := range l.Keys() {
		s, _, err := b.GetSchedule(ctx, name)
		if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// DeleteSchedule removes schedule name: its definition and its schedule
// message, so that it fires no more. A firing already made finds no
// schedule and is dropped.
func (b *Broker) DeleteSchedule(ctx context.Context, name string) error {
	if err := b.Disarm(ctx, name); err != nil {
		return err
	}
	if err := b.schedules.Purge(ctx, name); err != nil {
		return unavailable("delete schedule", err)
	}
	return nil
}

// Arm hands s to the broker's message scheduler: from now on it fires at
// its times. Arming an armed schedule sets it anew (an @every period
// counts from now).
func (b *Broker) Arm(ctx context.Context, s *conveyor.Schedule) error {
	msg := nats.NewMsg(scheduleSubject(s.Name))
	msg.Data = []byte(s.Name)
	msg.Header.Set(scheduleHeader, s.Pattern())
	msg.Header.Set(scheduleTargetHeader, fireSubject(s.Name))
	if s.Cron != "" && s.Timezone != "" {
		msg.Header.Set(scheduleTZHeader, s.Timezone)
	}
	err := b.retry(ctx, func(ctx context.Context) error {
		_, err := b.js.PublishMsg(ctx, msg)
		return err
	})
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 400 {
		return &conveyor.Error{Code: conveyor.EINVALID, Message: "the broker refused the schedule: " + apiErr.Description,
			Details: []conveyor.Violation{{Pointer: "/cron", Message: apiErr.Description}}}
	}
	if err != nil {
		return unavailable("arm schedule", err)
	}
	return nil
}

// Disarm takes schedule name from the broker's scheduler: it fires no
// more until armed again.
func (b *Broker) Disarm(ctx context.Context, name string) error {
	st, err := b.queueStream(ctx)
	if err != nil {
		return err
	}
	err = b.retry(ctx, func(ctx context.Context) error {
		return st.Purge(ctx, jetstream.WithPurgeSubject(scheduleSubject(name)))
	})
	if err != nil {
		return unavailable("disarm schedule", err)
	}
	return nil
}

// Armed reports whether schedule name is in the broker's scheduler.
func (b *Broker) Armed(ctx context.Context, name string) (bool, error) {
	st, err := b.queueStream(ctx)
	if err != nil {
		return false, err
	}
	_, err = st.GetLastMsgForSubject(ctx, scheduleSubject(name))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("read schedule", err)
	}
	return true, nil
}

// Firing is one firing of a schedule by the broker's scheduler.
type Firing struct {
	Schedule string
	// Seq is the firing's sequence in the queue stream: it names the
	// firing, so that a firing handed over twice makes one job.
	Seq uint64
	At  time.Time
	// Next is when the schedule fires next, as the scheduler says.
	Next time.Time
	// Redelivered is set when the firing was handed over before (its
	// handler failed, or its process died before it was done).
	Redelivered bool
}

// ServeFirings calls fn with each firing of every schedule, until ctx
// ends; then it stops, and done is closed once fn has returned for the
// last time. Every process that serves firings shares one durable
// consumer, so each firing goes to one of them; a firing whose fn fails
// (or whose process dies) is handed over again, so fn must make a firing's
// job at most once (see Firing.Seq).
func (b *Broker) ServeFirings(ctx context.Context, fn func(context.Context, Firing) error) (done <-chan struct{}, err error) {
	var c jetstream.Consumer
	err = b.retry(ctx, func(ctx context.Context) error {
		var err error
		c, err = b.ensureConsumer(ctx, QueueStream, jetstream.ConsumerConfig{
			Durable:       firingsConsumer,
			Description:   "gateways starting the jobs of schedule firings",
			FilterSubject: fireSubjects,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       30 * time.Second,
			MaxDeliver:    -1,
			DeliverPolicy: jetstream.DeliverNewPolicy,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", firingsConsumer, err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil {
			msg, err := c.Next(jetstream.FetchContext(ctx))
			if err != nil {
				if ctx.Err() == nil {
					select { // the broker is away: try again shortly
					case <-time.After(time.Second):
					case <-ctx.Done():
					}
				}
				continue
			}
			md, err := msg.Metadata()
			if err != nil {
				_ = msg.Term()
				continue
			}
			f := Firing{
				Schedule:    strings.TrimPrefix(msg.Subject(), "conveyor.fire."),
				Seq:         md.Sequence.Stream,
				At:          md.Timestamp,
				Redelivered: md.NumDelivered > 1,
			}
			f.Next, _ = time.Parse(time.RFC3339Nano, msg.Headers().Get(scheduleNextHeader))
			if err := fn(ctx, f); err != nil {
				_ = msg.NakWithDelay(time.Second)
				continue
			}
			_ = msg.Ack()
		}
	}()
	return stopped, nil
}

func validScheduleName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
