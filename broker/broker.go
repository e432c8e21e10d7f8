// Package broker is Conveyor's use of NATS JetStream: the embedded server,
// the durable job queue, the job store (a key-value bucket written only by
// compare-and-swap), the registry of algorithms and runners, and job logs.
//
// Every stream, bucket and consumer is created idempotently by whichever
// process opens the broker first, so neither a fresh start nor an upgrade
// needs manual NATS commands.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the streams and buckets Conveyor keeps in JetStream.
const (
	QueueStream       = "CONVEYOR_QUEUE"
	LogStream         = "CONVEYOR_LOGS"
	HistoryStream     = "CONVEYOR_HISTORY"
	JobsBucket        = "conveyor_jobs"
	IdempotencyBucket = "conveyor_idempotency"
	AlgorithmsBucket  = "conveyor_algorithms"
	RunnersBucket     = "conveyor_runners"
)

// Config sizes what Open creates.
type Config struct {
	// Replicas is the replication factor of every stream and bucket.
	Replicas int
	// Retention is how long job records, results, logs and idempotency keys
	// live after their last change.
	Retention time.Duration
	// Heartbeat is how often runners report; a runner record expires after
	// three missed heartbeats, and so does a job's in-progress lease.
	Heartbeat time.Duration
	// OpenWait bounds how long Open keeps retrying while JetStream cannot
	// create the streams yet (a cluster still forming, electing its meta
	// leader, or short of the nodes for Replicas). Default 1m.
	OpenWait time.Duration
	// Logger reports those retries. Default: none.
	Logger *slog.Logger
}

// Broker is an open connection to JetStream with Conveyor's streams and
// buckets in place. It is safe for concurrent use.
type Broker struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	cfg       Config
	jobs      jetstream.KeyValue
	idem      jetstream.KeyValue
	algs      jetstream.KeyValue
	runs      jetstream.KeyValue
	mutexes   jetstream.KeyValue
	schedules jetstream.KeyValue
	files     fileStore                        // uploaded files (files.go)
	conn      atomic.Pointer[connEpoch]        // the current connection's; see attempt
	queue     atomic.Pointer[jetstream.Stream] // the queue stream's handle, once looked up
	history   atomic.Pointer[jetstream.Stream] // the history stream's, likewise
}

// Defaults of Config.
const (
	DefaultRetention = 7 * 24 * time.Hour
	DefaultHeartbeat = 5 * time.Second
)

// Open prepares the streams and buckets Conveyor needs on nc's JetStream,
// creating or updating them as needed: any number of processes may open
// the same broker at once, and a changed Replicas is applied to existing
// streams. While JetStream cannot create them yet (a cluster still
// forming, or short of the nodes for Replicas) it retries with backoff for
// up to cfg.OpenWait, and returns the last error when that or ctx ends
// first. A refusal that waiting cannot change (a configuration JetStream
// rejects) it returns at once.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Broker, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.OpenWait == 0 {
		cfg.OpenWait = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	b := &Broker{nc: nc, js: js, cfg: cfg}
	b.conn.Store(newConnEpoch())
	if err := b.create(ctx); err != nil {
		return nil, err
	}
	b.watchConn() // only now: a broker that failed to open leaves nc as it was
	return b, nil
}

// create creates every stream and bucket that is missing or configured
// otherwise than Conveyor wants, and leaves alone those that are as
// wanted (see ensureStream), so that only the first process to open a
// broker writes. It retries each while JetStream cannot make it yet, until
// cfg.OpenWait has passed since it began.
func (b *Broker) create(ctx context.Context) error {
	cfg := b.cfg
	deadline := time.Now().Add(cfg.OpenWait)
	ensure := func(what string, op func(context.Context) error) error {
		err := b.retryFor(ctx, time.Until(deadline), op, func(err error, in time.Duration) {
			cfg.Logger.Warn("JetStream not ready, retrying", "err", fmt.Errorf("create %s: %w", what, err), "retry_in", in.Round(time.Millisecond))
		})
		if err != nil {
			return fmt.Errorf("create %s: %w", what, err)
		}
		return nil
	}
	storage := jetstream.FileStorage
	// The queue keeps its messages until retention, like the job records,
	// rather than deleting each on ack as a work-queue stream would: an ack
	// is then only consumer state, which costs the broker a tenth less CPU
	// per job (measured with bench/load). Each algorithm has one durable
	// consumer, shared by its runners, so a message still goes to one
	// runner at a time.
	streams := []jetstream.StreamConfig{{
		Name:        QueueStream,
		Description: "Conveyor job queue: subject conveyor.queue.<algorithm>.<priority>, data = the job record; conveyor.delay.<job> and conveyor.schedule.<name> are the broker's message schedules that queue jobs and fire schedules (on conveyor.fire.<name>)",
		Subjects:    []string{"conveyor.queue.>", delaySubjects, scheduleSubjects, fireSubjects},
		// The broker's own message scheduler queues delayed jobs and
		// fires recurring schedules: replicated with the stream, once per
		// schedule on a cluster, with no timer or leader of ours.
		AllowMsgSchedules: true,
		Retention:         jetstream.LimitsPolicy,
		MaxAge:            cfg.Retention,
		Storage:           storage,
		Replicas:          cfg.Replicas,
		// Longer than any retry of a publish (publishRetry), so that a
		// retried Enqueue is recognised as the same message.
		Duplicates:  min(2*time.Minute, cfg.Retention),
		AllowDirect: true,
	}, {
		Name:        HistoryStream,
		Description: "Conveyor finished jobs: subject conveyor.history, data = the final job record",
		Subjects:    []string{historySubject},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.Retention,
		Storage:     storage,
		Replicas:    cfg.Replicas,
		Duplicates:  min(historyDedupe, cfg.Retention),
		AllowDirect: true,
	}, {
		Name:        LogStream,
		Description: "Conveyor job logs, subject conveyor.logs.<job>",
		Subjects:    []string{"conveyor.logs.>"},
		Storage:     storage,
		Replicas:    cfg.Replicas,
		MaxAge:      cfg.Retention,
		Discard:     jetstream.DiscardOld,
	}}
	for _, sc := range streams {
		if err := ensure("stream "+sc.Name, func(ctx context.Context) error { return b.ensureStream(ctx, sc) }); err != nil {
			return err
		}
	}
	buckets := []struct {
		kv   *jetstream.KeyValue
		name string
		ttl  time.Duration
		desc string
	}{
		{&b.jobs, JobsBucket, cfg.Retention, "Conveyor job records, key = job id"},
		{&b.idem, IdempotencyBucket, cfg.Retention, "Conveyor idempotency keys, key = sha256 of the tenant and the client's key"},
		{&b.algs, AlgorithmsBucket, 0, "Conveyor algorithms as runners announce them, key = name"},
		{&b.runs, RunnersBucket, 3 * cfg.Heartbeat, "Conveyor live runners, key = runner id"},
		{&b.mutexes, MutexBucket, cfg.Retention, "Conveyor mutex keys in use: holder and line, key = MutexID"},
		{&b.schedules, SchedulesBucket, 0, "Conveyor recurring schedules: definition and state, key = name"},
	}
	for _, bk := range buckets {
		kc := jetstream.KeyValueConfig{
			Bucket:      bk.name,
			Description: bk.desc,
			History:     1,
			TTL:         bk.ttl,
			Storage:     storage,
			Replicas:    cfg.Replicas,
		}
		err := ensure("bucket "+bk.name, func(ctx context.Context) error {
			kv, err := b.ensureBucket(ctx, kc)
			*bk.kv = kv
			if err == nil && bk.name == JobsBucket {
				err = b.allowMsgTTL(ctx, "KV_"+JobsBucket)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return ensure("object store "+FilesBucket, b.ensureFiles)
}

// Conn returns the NATS connection the broker uses.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context the broker uses.
func (b *Broker) JetStream() jetstream.JetStream { return b.js }

// Config returns the broker's configuration with defaults filled in.
func (b *Broker) Config() Config { return b.cfg }

// Ping reports whether JetStream answers within ctx.
func (b *Broker) Ping(ctx context.Context) error {
	if b.nc.Status() != nats.CONNECTED {
		return errors.New("not connected to NATS")
	}
	_, err := b.js.AccountInfo(ctx)
	return err
}
