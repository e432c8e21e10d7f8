package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/backoff"
)

// stallCheck is how often a watch is compared with its bucket: a watch
// that has made no progress for two checks while the bucket is ahead of
// it is reopened.
const stallCheck = 2 * time.Second

// loopBackoff spaces the tries of the gateway's background loops while the
// broker fails them — reopening a watch, queueing and pulling callbacks:
// 100 ms doubling up to 5 s, jittered.
var loopBackoff = backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// watch is a bucket watch that feeds one of the gateway's views.
type watch struct {
	bucket string
	open   func(context.Context, ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
	put    func(jetstream.KeyValueEntry)
	del    func(jetstream.KeyValueEntry)
	// from is the last revision the view has applied already (0: none).
	from uint64
	// loaded is done once the watch has caught up at start.
	loaded *sync.WaitGroup
}

// follow applies a watch's entries to its view until ctx ends.
//
// A watch is an ordered consumer that lives on one NATS node. When that
// node dies, the client library recreates it only after missed heartbeats
// (10s or more), and gives up — ending the watch — if the stream is still
// electing a leader. So follow also reopens the watch when it ends, and
// when it stalls behind its bucket, from the revision after the last one
// applied: the view misses no change, and catches up within seconds of a
// failover.
func (g *Gateway) follow(ctx context.Context, w watch, kw jetstream.KeyWatcher) {
	defer g.wg.Done()
	initial := true
	defer func() {
		if initial {
			w.loaded.Done()
		}
	}()
	check := time.NewTicker(stallCheck)
	defer check.Stop()
	last, checked := w.from, w.from // last revision applied; and as of the last check
	stalls := 0
	for try := 0; ; {
		updates := kw.Updates()
	apply:
		for {
			select {
			case e, ok := <-updates:
				if !ok {
					break apply
				}
				if e == nil {
					if initial {
						initial = false
						w.loaded.Done()
					}
					continue
				}
				last, try = max(last, e.Revision()), 0
				if e.Operation() == jetstream.KeyValuePut {
					w.put(e)
				} else {
					w.del(e)
				}
			case <-check.C:
				if g.stalled(ctx, w.bucket, last, &checked, &stalls) {
					g.log.Warn("watch stalled behind its bucket, reopening", "bucket", w.bucket, "after_revision", last)
					_ = kw.Stop() // the library closes updates
				}
			case <-ctx.Done():
				_ = kw.Stop()
				return
			}
		}
		_ = kw.Stop()
		for {
			d := loopBackoff.Delay(try)
			try++
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
			var err error
			if last > 0 {
				kw, err = w.open(ctx, jetstream.ResumeFromRevision(last+1))
			} else {
				kw, err = w.open(ctx)
			}
			if err == nil {
				g.log.Info("watch reopened", "bucket", w.bucket, "after_revision", last)
				break
			}
			g.log.Warn("reopen watch", "bucket", w.bucket, "err", err, "retry_in", d.Round(time.Millisecond))
		}
	}
}

// stalled reports whether a watch whose last applied revision is last has
// been behind its bucket, without progress, for two checks in a row.
func (g *Gateway) stalled(ctx context.Context, bucket string, last uint64, checked *uint64, stalls *int) bool {
	if last != *checked {
		*checked, *stalls = last, 0
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, stallCheck)
	defer cancel()
	head, err := g.b.LastRevision(ctx, bucket)
	if err != nil || head <= last {
		*stalls = 0
		return false
	}
	*stalls++
	if *stalls < 2 {
		return false
	}
	*stalls = 0
	return true
}
