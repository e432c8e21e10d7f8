package broker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// Routed queues. A job that requires runner labels (Job.Requires, see
// conveyor.Requirements) is queued on a subject of its own requirement
// set, conveyor.queue.<algorithm>.<priority>.r.<token>, which no plain
// consumer's filter (conveyor.queue.<algorithm>.<priority>, exact) takes:
// jobs without requirements stay on the subjects they always had. Each
// (algorithm, priority, requirement set) has one durable consumer shared
// by the runners whose labels meet the set, created on demand.

// RoutedQueueSubject is the subject of a queued job of algorithm and
// priority p that requires r; for an empty r it is QueueSubject.
func RoutedQueueSubject(algorithm string, p conveyor.Priority, r conveyor.Requirements) string {
	tok := r.Token()
	if tok == "" {
		return QueueSubject(algorithm, p)
	}
	return QueueSubject(algorithm, p) + ".r." + tok
}

// RoutedConsumerName is the durable consumer of the routed queue of
// algorithm, priority p and requirement set r: q_<algorithm>-<priority>-r-<token>.
// No plain consumer's name has "-r-" (no algorithm name holds '-', and
// the priorities do not), and the token holds no '.', '*' or '>'. For an
// empty r it is ConsumerName.
func RoutedConsumerName(algorithm string, p conveyor.Priority, r conveyor.Requirements) string {
	tok := r.Token()
	if tok == "" {
		return ConsumerName(algorithm, p)
	}
	if p == "" {
		p = conveyor.PriorityNormal
	}
	return "q_" + algorithm + "-" + string(p) + "-r-" + tok
}

// ParseRoutedSubject reads a routed queue subject back: its algorithm,
// priority and requirement set; ok is false for any other subject.
func ParseRoutedSubject(subject string) (algorithm string, p conveyor.Priority, r conveyor.Requirements, ok bool) {
	rest, found := strings.CutPrefix(subject, "conveyor.queue.")
	if !found {
		return "", "", nil, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 || parts[2] != "r" {
		return "", "", nil, false
	}
	r, err := conveyor.ParseRequirementsToken(parts[3])
	if err != nil {
		return "", "", nil, false
	}
	return parts[0], conveyor.Priority(parts[1]), r, true
}

// RoutedPuller returns a Puller of the consumer of the routed queue of
// algorithm, priority p and requirement set r, creating the consumer if
// needed. The consumer is removed by the broker once no runner pulled it
// for the whole retention; made again, it starts from the first retained
// message, as Consumer's does, so no job of its set is missed.
func (b *Broker) RoutedPuller(ctx context.Context, algorithm string, p conveyor.Priority, r conveyor.Requirements) (*Puller, error) {
	want := b.queueConsumerConfig(algorithm, p, r)
	want.InactiveThreshold = b.cfg.Retention
	if _, err := b.queueConsumer(ctx, algorithm, p, want); err != nil {
		return nil, err
	}
	return b.puller(want.Durable), nil
}

// RoutedQueue is one routed queue that holds retained messages.
type RoutedQueue struct {
	Algorithm string
	Priority  conveyor.Priority
	Requires  conveyor.Requirements
	// Messages counts the queue's retained messages, of finished jobs
	// too (the queue stream keeps them for the retention).
	Messages uint64
}

// RoutedQueues lists the routed queues of algorithm ("": of every
// algorithm) that hold retained messages: the requirement sets queued
// jobs used. It reads the queue stream's per-subject counts, so it costs
// the number of sets, not of jobs.
func (b *Broker) RoutedQueues(ctx context.Context, algorithm string) ([]RoutedQueue, error) {
	if algorithm == "" {
		algorithm = "*"
	}
	st, err := b.js.Stream(ctx, QueueStream)
	if err != nil {
		return nil, fmt.Errorf("routed queues: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("conveyor.queue."+algorithm+".*.r.*"))
	if err != nil {
		return nil, fmt.Errorf("routed queues: %w", err)
	}
	out := make([]RoutedQueue, 0, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		alg, p, r, ok := ParseRoutedSubject(subj)
		if !ok || n == 0 {
			continue
		}
		out = append(out, RoutedQueue{Algorithm: alg, Priority: p, Requires: r, Messages: n})
	}
	slices.SortFunc(out, func(a, b RoutedQueue) int {
		return cmp.Or(cmp.Compare(a.Algorithm, b.Algorithm), cmp.Compare(a.Requires.Canonical(), b.Requires.Canonical()), cmp.Compare(a.Priority, b.Priority))
	})
	return out, nil
}

// Doorbell calls ring with the priority and the requirement set (nil for
// none) of every job queued for algorithm at high or low priority, and,
// with routed, of every job queued with requirements: the queues a pool
// pulls without waiting. Normal jobs without requirements do not ring it:
// their queue is long-polled. The messages ring it as they are published
// (not when redelivered or delivered by the broker's scheduler): it is a
// hint. ring runs on the connection's delivery goroutine and must not
// block. Drain the subscriptions to stop it.
func (b *Broker) Doorbell(algorithm string, routed bool, ring func(conveyor.Priority, conveyor.Requirements)) ([]Subscription, error) {
	subjects := []string{QueueSubject(algorithm, conveyor.PriorityHigh), QueueSubject(algorithm, conveyor.PriorityLow)}
	if routed {
		subjects = append(subjects, "conveyor.queue."+algorithm+".*.r.*")
	}
	var subs []Subscription
	for _, subj := range subjects {
		sub, err := b.nc.Subscribe(subj, func(m *nats.Msg) {
			if _, p, r, ok := ParseRoutedSubject(m.Subject); ok {
				ring(p, r)
				return
			}
			ring(conveyor.Priority(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]), nil)
		})
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}
