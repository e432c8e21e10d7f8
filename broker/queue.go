package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// QueueSubject is the subject of a queued job's message:
// conveyor.queue.<algorithm>.<priority>.
func QueueSubject(algorithm string, p conveyor.Priority) string {
	if p == "" {
		p = conveyor.PriorityNormal
	}
	return "conveyor.queue." + algorithm + "." + string(p)
}

// inlineMax is the largest job record a queue message carries whole; a
// larger one is queued by id alone and read from the store.
const inlineMax = 64 << 10

// revHeader carries the store revision of the job record inlined in a queue
// message, so the runner can start the job with one compare-and-swap
// instead of a read and a write.
const revHeader = "Conveyor-Rev"

// Enqueue puts a job just stored by CreateJob on the queue of its
// algorithm. The message carries the record (or, for a large one, only the
// id); the store stays the truth, and a runner whose copy is stale finds
// out by a failed compare-and-swap. The publish is deduplicated on the job
// id, so a retried Enqueue never queues a job twice within the broker's
// duplicate window; Enqueue itself retries while the broker fails over
// (for up to 15s, bounded by ctx).
func (b *Broker) Enqueue(ctx context.Context, s Stored) error {
	j := s.Job
	msg := nats.NewMsg(QueueSubject(j.Algorithm, j.Priority))
	msg.Data = []byte(j.ID)
	if len(s.data) <= inlineMax {
		msg.Data = s.data
		msg.Header.Set(revHeader, strconv.FormatUint(s.Rev, 10))
	}
	err := b.retry(ctx, func(ctx context.Context) error {
		_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(j.ID))
		return err
	})
	if err != nil {
		return unavailable("queue job", err)
	}
	return nil
}

// Queued is a job as a queue message carries it: its id, and the record at
// revision Rev when the message inlines it (Job is nil otherwise).
type Queued struct {
	ID  string
	Job *conveyor.Job
	Rev uint64
}

// ParseQueued reads a queue message.
func ParseQueued(msg jetstream.Msg) Queued {
	rev, err := strconv.ParseUint(msg.Headers().Get(revHeader), 10, 64)
	if err != nil {
		return Queued{ID: string(msg.Data())}
	}
	var j conveyor.Job
	if json.Unmarshal(msg.Data(), &j) != nil || j.ID == "" {
		return Queued{ID: string(msg.Data())}
	}
	return Queued{ID: j.ID, Job: &j, Rev: rev}
}

// ConsumerName is the durable consumer that every runner of algorithm
// shares: the queue is a work queue, so each message goes to one runner.
func ConsumerName(algorithm string) string { return "q_" + algorithm }

// Consumer returns the shared pull consumer of algorithm's queue, creating
// it if needed. A message not acknowledged within three heartbeats is
// redelivered: runners report progress on running jobs every heartbeat.
// The consumer starts from the first retained message, so jobs queued
// before any runner of the algorithm existed are not missed; should it be
// deleted and made again, the messages of finished jobs are delivered once
// more and acknowledged at once, as their records are final.
func (b *Broker) Consumer(ctx context.Context, algorithm string) (jetstream.Consumer, error) {
	want := jetstream.ConsumerConfig{
		Durable:       ConsumerName(algorithm),
		Description:   "runners of " + algorithm,
		FilterSubject: "conveyor.queue." + algorithm + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       3 * b.cfg.Heartbeat,
		MaxDeliver:    -1, // attempts are counted on the job record
		MaxAckPending: 100_000,
		MaxWaiting:    4096,
	}
	var c jetstream.Consumer
	// Every runner of the algorithm opens the consumer as it starts; only
	// the first (or one with another heartbeat) writes it.
	err := b.retry(ctx, func(ctx context.Context) error {
		return b.step(ctx, func(ctx context.Context) error {
			var err error
			if c, err = b.js.Consumer(ctx, QueueStream, want.Durable); err == nil {
				have := c.CachedInfo().Config
				if have.AckWait == want.AckWait && have.FilterSubject == want.FilterSubject &&
					have.MaxAckPending == want.MaxAckPending && have.MaxWaiting == want.MaxWaiting {
					return nil
				}
			}
			c, err = b.js.CreateOrUpdateConsumer(ctx, QueueStream, want)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("consumer for %s: %w", algorithm, err)
	}
	return c, nil
}

// CancelSubject is the core NATS subject on which the gateway tells runners
// that a job was canceled; "*" gives the wildcard runners subscribe to.
func CancelSubject(jobID string) string { return "conveyor.cancel." + jobID }

// AnnounceCancel tells every runner that the job was canceled, so the one
// running it stops the work now rather than at its next heartbeat. The job
// record is already canceled; this is only the fast path.
func (b *Broker) AnnounceCancel(jobID string) error {
	return b.nc.Publish(CancelSubject(jobID), nil)
}
