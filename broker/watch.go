package broker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/backoff"
)

// Entry is one change of a key of a bucket, as Watch hands it over.
type Entry struct {
	Key string
	// Value is the key's new value; empty when Removed.
	Value    []byte
	Revision uint64
	// Created is when the change was written.
	Created time.Time
	// Removed marks a key deleted or purged.
	Removed bool
}

// WatchConfig configures Watch.
type WatchConfig struct {
	// From is the last revision the caller applied already: the watch
	// hands over the changes after it. 0: every current key first, then
	// the changes.
	From uint64
	// CaughtUp, when set, is called once: when the entries current as the
	// watch opened have been handed over — or when the watch ends first.
	CaughtUp func()
}

// stallCheck is how often a watch is compared with its bucket: a watch
// that has made no progress for two checks while the bucket is ahead of
// it is reopened.
const stallCheck = 2 * time.Second

// reopenBackoff spaces the tries to reopen a watch: 100 ms doubling up to
// 5 s, jittered.
var reopenBackoff = backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// Watch calls fn with each change of bucket (JobsBucket, AlgorithmsBucket
// or RunnersBucket) after cfg.From, in order, on one goroutine, until ctx
// ends; done is closed once fn has returned for the last time. It fails
// only if the first open fails.
//
// A watch is an ordered consumer that lives on one NATS node. When that
// node dies, the client library recreates it only after missed heartbeats
// (10s or more), and gives up — ending the watch — if the stream is still
// electing a leader. So Watch also reopens the watch when it ends, and
// when it stalls behind its bucket, from the revision after the last one
// handed over: the caller misses no change, and catches up within seconds
// of a failover.
func (b *Broker) Watch(ctx context.Context, bucket string, cfg WatchConfig, fn func(Entry)) (done <-chan struct{}, err error) {
	kv := b.bucket(bucket)
	if kv == nil {
		return nil, fmt.Errorf("watch: no bucket %s", bucket)
	}
	open := func(after uint64) (jetstream.KeyWatcher, error) {
		if after > 0 {
			return kv.WatchAll(ctx, jetstream.ResumeFromRevision(after+1))
		}
		return kv.WatchAll(ctx)
	}
	first, err := open(cfg.From)
	if err != nil {
		return nil, unavailable("watch "+bucket, err)
	}
	var once sync.Once
	caughtUp := func() {
		if cfg.CaughtUp != nil {
			once.Do(cfg.CaughtUp)
		}
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer caughtUp()
		w := watcher{b: b, bucket: bucket, last: cfg.From, progress: progress{checked: cfg.From}}
		kw := first
		for try := 0; ; {
			if !w.apply(ctx, kw, fn, caughtUp, &try) {
				return
			}
			for {
				d := reopenBackoff.Delay(try)
				try++
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
				var err error
				if kw, err = open(w.last); err == nil {
					b.cfg.Logger.Info("watch reopened", "bucket", bucket, "after_revision", w.last)
					break
				}
				b.cfg.Logger.Warn("reopen watch", "bucket", bucket, "err", err, "retry_in", d.Round(time.Millisecond))
			}
		}
	}()
	return stopped, nil
}

// watcher is the state of one Watch across its reopenings.
type watcher struct {
	b        *Broker
	bucket   string
	last     uint64 // the last revision handed over
	progress progress
}

// apply hands the entries of kw over until it ends or stalls (true: open
// it again) or ctx ends (false).
func (w *watcher) apply(ctx context.Context, kw jetstream.KeyWatcher, fn func(Entry), caughtUp func(), try *int) bool {
	defer func() { _ = kw.Stop() }()
	check := time.NewTicker(stallCheck)
	defer check.Stop()
	updates := kw.Updates()
	for {
		select {
		case e, ok := <-updates:
			if !ok {
				return true
			}
			if e == nil {
				caughtUp()
				continue
			}
			w.last, *try = max(w.last, e.Revision()), 0
			op := e.Operation()
			fn(Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision(), Created: e.Created(), Removed: op != jetstream.KeyValuePut})
		case <-check.C:
			if w.stalled(ctx) {
				w.b.cfg.Logger.Warn("watch stalled behind its bucket, reopening", "bucket", w.bucket, "after_revision", w.last)
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

// stalled reports whether the watch has been behind its bucket, without
// progress, for two checks in a row. A bucket that cannot say (the broker
// away) is no reason to reopen.
func (w *watcher) stalled(ctx context.Context) bool {
	return w.progress.stalled(w.last, func() bool {
		ctx, cancel := context.WithTimeout(ctx, stallCheck)
		defer cancel()
		head, err := w.b.LastRevision(ctx, w.bucket)
		return err == nil && head > w.last
	})
}

// progress tells a feed that stalled (Watch, follow): one that was behind
// its stream, with nothing handed over, at two checks in a row.
type progress struct {
	checked uint64 // the last position handed over, as of the last check
	stalls  int
}

// stalled is one check, at handed, the last position handed over;
// behind is asked only when nothing was handed over since the last check.
func (p *progress) stalled(handed uint64, behind func() bool) bool {
	if handed != p.checked {
		p.checked, p.stalls = handed, 0
		return false
	}
	if !behind() {
		p.stalls = 0
		return false
	}
	if p.stalls++; p.stalls < 2 {
		return false
	}
	p.stalls = 0
	return true
}

// bucket returns the key-value bucket named name, or nil.
func (b *Broker) bucket(name string) jetstream.KeyValue {
	switch name {
	case JobsBucket:
		return b.jobs
	case AlgorithmsBucket:
		return b.algs
	case RunnersBucket:
		return b.runs
	}
	return nil
}
