package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// originHeader names the process that queued the message (Stored.Origin).
const originHeader = "Conveyor-Origin"

// stepHeader carries the pipeline step a queue message is for, so a runner
// tells a message of a stage the job has left from one of the stage it is in.
const stepHeader = "Conveyor-Step"

// EnqueueJob queues j, whose record is at revision rev: a pipeline job moved
// on to its next stage. Like Enqueue, it is deduplicated, on the job id and
// the step.
func (b *Broker) EnqueueJob(ctx context.Context, j *conveyor.Job, rev uint64) error {
	s, err := StoredJob(j, rev)
	if err != nil {
		return err
	}
	return b.Enqueue(ctx, s)
}

// Enqueue puts a job just stored by CreateJob on the queue of its
// algorithm. The message carries the record (or, for a large one, only the
// id); the store stays the truth, and a runner whose copy is stale finds
// out by a failed compare-and-swap. The publish is deduplicated on the job
// id, so a retried Enqueue never queues a job twice within the broker's
// duplicate window; Enqueue itself retries while the broker fails over
// (for up to 15s, bounded by ctx).
func (b *Broker) Enqueue(ctx context.Context, s Stored) error {
	_, err := b.EnqueueAt(ctx, s)
	return err
}

// EnqueueAt is Enqueue, and returns the message's sequence in the queue
// stream.
func (b *Broker) EnqueueAt(ctx context.Context, s Stored) (uint64, error) {
	msg, msgID := queueMessage(s)
	var seq uint64
	err := b.retry(ctx, func(ctx context.Context) error {
		ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
		if err == nil {
			seq = ack.Sequence
		}
		return err
	})
	if err != nil {
		return 0, unavailable("queue job", err)
	}
	return seq, nil
}

// queueMessage is the queue message of s, and its message id.
func queueMessage(s Stored) (*nats.Msg, string) {
	j := s.Job
	msg := nats.NewMsg(RoutedQueueSubject(j.StageAlgorithm(), j.Priority, j.Requires))
	msg.Data = []byte(j.ID)
	if len(s.data) <= inlineMax {
		msg.Data = s.data
		msg.Header.Set(revHeader, strconv.FormatUint(s.Rev, 10))
	}
	if s.Origin != "" {
		msg.Header.Set(originHeader, s.Origin)
	}
	msgID := j.ID
	if j.Stage != nil {
		// Each stage of a pipeline job is queued once.
		step := strconv.Itoa(j.Step())
		msg.Header.Set(stepHeader, step)
		msgID += "." + step
	}
	return msg, msgID
}

// Queued is a job as a queue message carries it: its id, and the record at
// revision Rev when the message inlines it (Job is nil otherwise).
type Queued struct {
	ID  string
	Job *conveyor.Job
	Rev uint64
	// Step is the pipeline step the message queues (0 for other jobs).
	Step int
}

// ParseQueued reads a queue message.
func ParseQueued(msg jetstream.Msg) Queued { return parseQueued(msg.Data(), msg.Headers()) }

func parseQueued(data []byte, h nats.Header) Queued {
	step, _ := strconv.Atoi(h.Get(stepHeader))
	rev, err := strconv.ParseUint(h.Get(revHeader), 10, 64)
	if err != nil {
		return Queued{ID: string(data), Step: step}
	}
	var j conveyor.Job
	if json.Unmarshal(data, &j) != nil || j.ID == "" {
		return Queued{ID: string(data), Step: step}
	}
	return Queued{ID: j.ID, Job: &j, Rev: rev, Step: step}
}

// Priorities lists the priorities in the order runners take their jobs.
var Priorities = []conveyor.Priority{conveyor.PriorityHigh, conveyor.PriorityNormal, conveyor.PriorityLow}

// ConsumerName is the durable consumer that every runner of algorithm
// shares for the jobs of priority p: each priority is a queue of its own,
// a work queue whose every message goes to one runner.
func ConsumerName(algorithm string, p conveyor.Priority) string {
	if p == conveyor.PriorityNormal || p == "" {
		return "q_" + algorithm
	}
	return "q_" + algorithm + "-" + string(p) // '-' is in no algorithm name
}

// Consumer returns the shared pull consumer of algorithm's queue for
// priority p, creating it if needed. A message not acknowledged within
// three heartbeats is redelivered: runners report progress on running jobs
// every heartbeat. The consumer starts from the first retained message, so
// jobs queued before any runner of the algorithm existed are not missed;
// should it be deleted and made again, the messages of finished jobs are
// delivered once more and acknowledged at once, as their records are final.
func (b *Broker) Consumer(ctx context.Context, algorithm string, p conveyor.Priority) (jetstream.Consumer, error) {
	return b.queueConsumer(ctx, algorithm, p, b.queueConsumerConfig(algorithm, p, nil))
}

// OpenQueue makes sure the shared consumer of algorithm's queue for
// priority p exists (see Consumer), for a runner about to pull it.
func (b *Broker) OpenQueue(ctx context.Context, algorithm string, p conveyor.Priority) error {
	_, err := b.Consumer(ctx, algorithm, p)
	return err
}

// queueConsumerConfig is the configuration of the consumer of the queue of
// algorithm, priority p and requirement set r (none: the plain queue).
func (b *Broker) queueConsumerConfig(algorithm string, p conveyor.Priority, r conveyor.Requirements) jetstream.ConsumerConfig {
	if p == "" {
		p = conveyor.PriorityNormal
	}
	desc := "runners of " + algorithm + ", " + string(p) + " priority"
	if len(r) > 0 {
		desc += ", with labels " + r.Canonical()
	}
	return jetstream.ConsumerConfig{
		Durable:       RoutedConsumerName(algorithm, p, r),
		Description:   desc,
		FilterSubject: RoutedQueueSubject(algorithm, p, r),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       3 * b.cfg.Heartbeat,
		MaxDeliver:    -1, // attempts are counted on the job record
		MaxAckPending: 100_000,
		MaxWaiting:    4096,
	}
}

func (b *Broker) queueConsumer(ctx context.Context, algorithm string, p conveyor.Priority, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	var c jetstream.Consumer
	// Every runner of the algorithm opens the consumer as it starts; only
	// the first (or one with another heartbeat) writes it.
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		c, err = b.ensureConsumer(ctx, QueueStream, want)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consumer for %s (%s): %w", algorithm, p, err)
	}
	return c, nil
}

// CancelSubject is the core NATS subject on which the gateway tells runners
// that a job was canceled; "*" gives the wildcard runners subscribe to.
func CancelSubject(jobID string) string { return "conveyor.cancel." + jobID }

// Cancels calls fn with the id of every job canceled from now on, as
// AnnounceCancel tells it: the fast path of a cancel. fn runs on the
// subscription's goroutine and must not block.
func (b *Broker) Cancels(fn func(jobID string)) (Subscription, error) {
	return b.nc.Subscribe(CancelSubject("*"), func(m *nats.Msg) {
		fn(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
	})
}

// AnnounceCancel tells every runner that the job was canceled, so the one
// running it stops the work now rather than at its next heartbeat. The job
// record is already canceled; this is only the fast path.
func (b *Broker) AnnounceCancel(jobID string) error {
	return b.nc.Publish(CancelSubject(jobID), nil)
}

// EnqueueMany queues jobs just made (see Unstored and CreateJob), with
// their publishes in flight together rather than one round trip each, and
// returns each message's sequence in the queue stream, in order. A publish
// that fails or is not acknowledged in time is retried as EnqueueAt
// retries it (deduplicated on the job id). On an error some of the jobs
// may be queued: seqs holds theirs (0 for the others), so that the caller
// can take them back with DeleteQueued.
func (b *Broker) EnqueueMany(ctx context.Context, jobs []Stored) (seqs []uint64, err error) {
	seqs = make([]uint64, len(jobs))
	futures := make([]jetstream.PubAckFuture, len(jobs))
	for i, s := range jobs {
		msg, msgID := queueMessage(s)
		// A publish refused here (too many in flight) is made again below.
		futures[i], _ = b.js.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	}
	timeout := time.NewTimer(attemptTimeout)
	defer timeout.Stop()
	lost := b.conn.Load().ctx.Done()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			seqs[i] = ack.Sequence
		case <-f.Err():
		case <-timeout.C:
			timeout.Reset(0) // the rest are late too: no more waiting
		case <-lost:
		case <-ctx.Done():
		}
	}
	for i, s := range jobs {
		if seqs[i] != 0 {
			continue
		}
		if seqs[i], err = b.EnqueueAt(ctx, s); err != nil {
			return seqs, err
		}
	}
	return seqs, nil
}
