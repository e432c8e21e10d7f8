package broker

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// PutAlgorithm records an algorithm as a runner announces it. Algorithms
// stay known after their runners go away, so their jobs wait in the queue.
func (b *Broker) PutAlgorithm(ctx context.Context, a conveyor.Algorithm) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	// Skip the write when nothing changed: every runner start announces.
	if e, err := b.algs.Get(ctx, a.Name); err == nil && string(e.Value()) == string(data) {
		return nil
	}
	if _, err := b.algs.Put(ctx, a.Name, data); err != nil {
		return unavailable("register algorithm", err)
	}
	return nil
}

// PutRunner records that a runner is alive. The record expires three
// heartbeats after its last Put.
func (b *Broker) PutRunner(ctx context.Context, r conveyor.RunnerInfo) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := b.runs.Put(ctx, r.ID, data); err != nil {
		return unavailable("register runner", err)
	}
	return nil
}

// DeleteRunner removes a runner's record at once, on a clean shutdown.
func (b *Broker) DeleteRunner(ctx context.Context, id string) error {
	err := b.runs.Delete(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// WatchAlgorithms streams the registered algorithms: current ones, a nil
// entry, then changes.
func (b *Broker) WatchAlgorithms(ctx context.Context) (jetstream.KeyWatcher, error) {
	return b.algs.WatchAll(ctx)
}

// WatchRunners streams runner records: current ones, a nil entry, then
// changes, including deletes of runners that stopped cleanly.
func (b *Broker) WatchRunners(ctx context.Context) (jetstream.KeyWatcher, error) {
	return b.runs.WatchAll(ctx)
}
