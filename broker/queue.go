package broker

import (
	"context"
	"fmt"

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

// Enqueue puts a stored job on the queue of its algorithm. The message
// carries only the job id; the record in the store is the truth. The
// publish is deduplicated on the job id, so a retried Enqueue never queues a
// job twice within the broker's duplicate window.
func (b *Broker) Enqueue(ctx context.Context, j *conveyor.Job) error {
	_, err := b.js.Publish(ctx, QueueSubject(j.Algorithm, j.Priority), []byte(j.ID), jetstream.WithMsgID(j.ID))
	if err != nil {
		return unavailable("queue job", err)
	}
	return nil
}

// ConsumerName is the durable consumer that every runner of algorithm
// shares: the queue is a work queue, so each message goes to one runner.
func ConsumerName(algorithm string) string { return "q_" + algorithm }

// Consumer returns the shared pull consumer of algorithm's queue, creating
// it if needed. A message not acknowledged within three heartbeats is
// redelivered: runners report progress on running jobs every heartbeat.
func (b *Broker) Consumer(ctx context.Context, algorithm string) (jetstream.Consumer, error) {
	c, err := b.js.CreateOrUpdateConsumer(ctx, QueueStream, jetstream.ConsumerConfig{
		Durable:       ConsumerName(algorithm),
		Description:   "runners of " + algorithm,
		FilterSubject: "conveyor.queue." + algorithm + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       3 * b.cfg.Heartbeat,
		MaxDeliver:    -1, // attempts are counted on the job record
		MaxAckPending: 100_000,
		MaxWaiting:    4096,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer for %s: %w", algorithm, err)
	}
	return c, nil
}

// QueuedJobID returns the job id a queue message carries.
func QueuedJobID(msg jetstream.Msg) string { return string(msg.Data()) }

// CancelSubject is the core NATS subject on which the gateway tells runners
// that a job was canceled; "*" gives the wildcard runners subscribe to.
func CancelSubject(jobID string) string { return "conveyor.cancel." + jobID }

// AnnounceCancel tells every runner that the job was canceled, so the one
// running it stops the work now rather than at its next heartbeat. The job
// record is already canceled; this is only the fast path.
func (b *Broker) AnnounceCancel(jobID string) error {
	return b.nc.Publish(CancelSubject(jobID), nil)
}
