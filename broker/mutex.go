package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// Mutex keys. Jobs that share a key (within a tenant) run one at a time, in
// the order they were submitted. Each key in use has a record in the
// MutexBucket: the job that holds the key and the line of jobs waiting for
// it. Only the holder is on the queue; the others wait, queued, in the
// line. The key passes on when its holder is final — succeeded, failed for
// good, or canceled: a job that fails an attempt keeps the key for its
// retries, and a job whose runner died keeps it until its next attempt
// (after the heartbeat lapse) or its failure.
//
// Every change to a line is a compare-and-swap, so gateways may race to
// pass a key on and only one wins. The winner queues the new holder and
// then marks the line queued; SweepMutexes repairs what a crash between
// any two of these steps leaves behind.

// MutexBucket is the KV bucket of mutex lines, key = MutexID.
const MutexBucket = "conveyor_mutex"

// mutexLine is the record of one mutex key in use.
type mutexLine struct {
	Key    string `json:"key"`
	Tenant string `json:"tenant,omitempty"`
	Holder string `json:"holder"`
	// Queued says the holder's queue message was published.
	Queued bool      `json:"queued"`
	Since  time.Time `json:"since"`
	// Line is the jobs waiting, in the order they came.
	Line []string `json:"line,omitempty"`
}

// MutexID is the bucket key of a tenant's mutex key: keys are client
// strings, bucket keys a restricted alphabet.
func MutexID(tenant, key string) string {
	sum := sha256.Sum256([]byte(tenant + "\x00" + key))
	return hex.EncodeToString(sum[:16])
}

// JoinMutex puts the job just stored, which has a mutex key, in the line of
// its key. When nobody holds the key the job takes it and is queued now;
// otherwise it waits, and ReleaseMutex queues it in its turn. Joining again
// (a retried submit) changes nothing.
func (b *Broker) JoinMutex(ctx context.Context, s Stored) error {
	j := s.Job
	id := MutexID(j.Tenant, j.Mutex)
	for range maxCASRetries {
		l, rev, err := b.mutexLine(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case l == nil:
			l = &mutexLine{Key: j.Mutex, Tenant: j.Tenant, Holder: j.ID, Since: time.Now().UTC()}
		case l.Holder == j.ID:
		case slices.Contains(l.Line, j.ID):
			return nil
		default:
			l.Line = append(l.Line, j.ID)
		}
		written, err := b.putMutexLine(ctx, id, l, rev)
		if err != nil {
			return err
		}
		if written == 0 {
			continue
		}
		if l.Holder != j.ID {
			return nil
		}
		if err := b.Enqueue(ctx, s); err != nil {
			return err
		}
		b.markMutexQueued(ctx, id, l, written)
		return nil
	}
	return fmt.Errorf("mutex %q: compare-and-swap did not settle", j.Mutex)
}

// ReleaseMutex passes the key of job id, now final, to the first job in its
// line that still waits, and queues that job. It does nothing unless id
// holds the key; without jobs waiting, the key's record goes away.
func (b *Broker) ReleaseMutex(ctx context.Context, tenant, key, id string) error {
	mid := MutexID(tenant, key)
	for range maxCASRetries {
		l, rev, err := b.mutexLine(ctx, mid)
		if err != nil || l == nil || l.Holder != id {
			return err
		}
		var next *conveyor.Job
		var nextRev uint64
		for len(l.Line) > 0 && next == nil {
			j, r, err := b.GetJob(ctx, l.Line[0])
			switch {
			case conveyor.ErrorCode(err) == conveyor.ENOTFOUND:
			case err != nil:
				return err
			case !j.Status.Terminal():
				next, nextRev = j, r
			}
			l.Line = l.Line[1:]
		}
		if next == nil {
			err := b.mutexes.Delete(ctx, mid, jetstream.LastRevision(rev))
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue // the line changed under us
			}
			if err != nil {
				return unavailable("release mutex", err)
			}
			return nil
		}
		l.Holder, l.Queued, l.Since = next.ID, false, time.Now().UTC()
		written, err := b.putMutexLine(ctx, mid, l, rev)
		if err != nil {
			return err
		}
		if written == 0 {
			continue
		}
		if err := b.EnqueueJob(ctx, next, nextRev); err != nil {
			return err // SweepMutexes queues it later
		}
		b.markMutexQueued(ctx, mid, l, written)
		return nil
	}
	return fmt.Errorf("mutex %q: compare-and-swap did not settle", key)
}

// sweepListFor bounds the reading of every line by SweepMutexes.
const sweepListFor = 10 * time.Second

// SweepMutexes repairs the lines a crash left behind: it passes on the keys
// of holders that are final (or gone) and queues holders that are not
// marked queued — a copy of a message queued already is dropped by the
// broker's deduplication, as long as the sweep runs within its window.
// status, when not nil, tells a job's status as the caller knows it (a
// gateway's index): a holder it knows to be running, or queued with its
// message published, needs no read of its record; the next sweep looks
// again should the caller lag behind the store.
func (b *Broker) SweepMutexes(ctx context.Context, status func(id string) (conveyor.Status, bool)) error {
	// One pass over the bucket reads every line, rather than a read each.
	lctx, cancel := context.WithTimeout(ctx, sweepListFor)
	defer cancel()
	w, err := b.mutexes.WatchAll(lctx, jetstream.IgnoreDeletes())
	if err != nil {
		return unavailable("list mutexes", err)
	}
	defer func() { _ = w.Stop() }()
	type held struct {
		mid  string
		line mutexLine
		rev  uint64
	}
	var lines []held
list:
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				break list // every current line is in
			}
			var l mutexLine
			if json.Unmarshal(e.Value(), &l) == nil && l.Holder != "" {
				lines = append(lines, held{e.Key(), l, e.Revision()})
			}
		case <-lctx.Done():
			return unavailable("list mutexes", lctx.Err())
		}
	}
	var errs []error
	for _, h := range lines {
		l := h.line
		if status != nil {
			if st, ok := status(l.Holder); ok && !st.Terminal() && (l.Queued || st != conveyor.StatusQueued) {
				continue
			}
		}
		j, rev, err := b.GetJob(ctx, l.Holder)
		switch {
		case err == nil && stopping(j, b.cfg.Heartbeat, time.Now()):
			// Its runner passes the key on once the attempt has stopped.
		case conveyor.ErrorCode(err) == conveyor.ENOTFOUND || err == nil && j.Status.Terminal():
			errs = append(errs, b.ReleaseMutex(ctx, l.Tenant, l.Key, l.Holder))
		case err != nil:
			errs = append(errs, err)
		case !l.Queued && time.Since(l.Since) > time.Second && j.Status == conveyor.StatusQueued:
			if err := b.EnqueueJob(ctx, j, rev); err != nil {
				errs = append(errs, err)
				continue
			}
			b.markMutexQueued(ctx, h.mid, &l, h.rev)
		}
	}
	return errors.Join(errs...)
}

// stopping reports whether j was canceled so lately, after it started,
// that an attempt of it may still be running: the cancel reaches its
// runner at once, or at the runner's next heartbeat, and the attempt's
// code stops in its own time. Its key is not passed on before.
func stopping(j *conveyor.Job, heartbeat time.Duration, now time.Time) bool {
	return j.Status == conveyor.StatusCanceled && j.StartedAt != nil && j.FinishedAt != nil && now.Sub(*j.FinishedAt) < 2*heartbeat
}

// markMutexQueued records that the message of the holder of line l, as
// written at rev, is published: by compare-and-swap against rev, reading
// the line again only should it have changed since. It is only a hint for
// SweepMutexes, so failing to write it costs a duplicate publish at worst.
func (b *Broker) markMutexQueued(ctx context.Context, mid string, l *mutexLine, rev uint64) {
	holder := l.Holder
	for range maxCASRetries {
		if l == nil || l.Holder != holder || l.Queued {
			return
		}
		marked := *l
		marked.Queued = true
		if written, err := b.putMutexLine(ctx, mid, &marked, rev); written != 0 || err != nil {
			return
		}
		var err error
		if l, rev, err = b.mutexLine(ctx, mid); err != nil {
			return
		}
	}
}

// mutexLine reads a line and its revision; nil when the key is free.
func (b *Broker) mutexLine(ctx context.Context, mid string) (*mutexLine, uint64, error) {
	e, err := b.mutexes.Get(ctx, mid)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, unavailable("read mutex", err)
	}
	var l mutexLine
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return nil, 0, fmt.Errorf("mutex %s: corrupt record: %w", mid, err)
	}
	return &l, e.Revision(), nil
}

// putMutexLine writes a line by compare-and-swap against rev (0: create).
// It returns the line's new revision, or 0 when someone wrote first.
func (b *Broker) putMutexLine(ctx context.Context, mid string, l *mutexLine, rev uint64) (uint64, error) {
	data, err := json.Marshal(l)
	if err != nil {
		return 0, err
	}
	var written uint64
	if rev == 0 {
		written, err = b.mutexes.Create(ctx, mid, data)
	} else {
		written, err = b.mutexes.Update(ctx, mid, data, rev)
	}
	switch {
	case err == nil:
		return written, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, nil
	}
	return 0, unavailable("write mutex", err)
}
