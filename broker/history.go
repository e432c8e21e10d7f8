package broker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// Finished jobs leave the job store for the history stream, so that what
// the broker holds in memory follows the live jobs, not the retained ones:
// JetStream keeps an entry in memory for every subject of a stream, and
// the job store has a subject per job, while the history stream has one
// subject for every job. A record there is read by its sequence, which
// the gateways' job indexes know (see Archive).

const (
	historySubject = "conveyor.history"
	// jobHeader names the job a history message is the record of, or the
	// job a delayed job's queue message queues.
	jobHeader = "Conveyor-Job"
	// revHeaderArchived is the store revision of the record a history
	// message holds: a reader of both that was past it in the store has
	// seen the record.
	revHeaderArchived = "Conveyor-Rev"
	// jobsSubjectPrefix is the subject of a job's record in the store,
	// less the job's id.
	jobsSubjectPrefix = "$KV." + JobsBucket + "."
	// historyDedupe is how long the history stream recognises a job
	// archived again (by another gateway at the same time): short, as the
	// broker keeps every id of that window in memory.
	historyDedupe = 30 * time.Second
	// archivedMarkerTTL is how long the marker left in the job store by
	// Archive lives: the store's watchers see the job leave it, then the
	// subject is gone.
	archivedMarkerTTL = 5 * time.Second
)

// Archivable reports whether the job of a final record may leave the job
// store: not while it owes a completion callback (whose delivery writes
// the record), nor while an idempotency key is bound to it (whose claim
// checks that the job is still in the store).
func Archivable(j *conveyor.Job) bool {
	return j.Status.Terminal() && !j.Callback.Pending() && j.IdempotencyKey == ""
}

// ErrArchived is returned by Archive when the record has changed since
// the revision given, or left the store already: there is nothing to do.
var ErrArchived = errors.New("the job record changed or was archived already")

// ToArchive is a final job record to archive: the record data of job ID
// at revision Rev of the job store.
type ToArchive struct {
	ID   string
	Data []byte
	Rev  uint64
}

// Archive moves final job records from the job store to the history
// stream, many at once. For each it appends first, then removes the
// record from the store if it is still at its revision, so that a crash in
// between leaves the job in both, never in neither; the appends are
// deduplicated by job id for historyDedupe, so several processes
// archiving the same job make one message. It returns, for each, nil,
// ErrArchived when the record moved on (or left), or an EUNAVAILABLE
// error when the broker could not be written. Before the purges, it calls
// appended with the history sequence of each job appended, so that the
// caller knows where a record is before it leaves the store.
func (b *Broker) Archive(ctx context.Context, jobs []ToArchive, appended func(i int, seq uint64)) []error {
	errs := make([]error, len(jobs))
	// The appends, in flight together.
	wait := func(futures []jetstream.PubAckFuture, onOK func(i int, seq uint64), onErr func(i int, err error)) {
		timeout := time.NewTimer(attemptTimeout)
		defer timeout.Stop()
		for i, f := range futures {
			if f == nil {
				continue
			}
			select {
			case ack := <-f.Ok():
				if onOK != nil {
					onOK(i, ack.Sequence)
				}
			case err := <-f.Err():
				onErr(i, err)
			case <-timeout.C:
				timeout.Reset(0)
				onErr(i, errors.New("no acknowledgement in time"))
			case <-ctx.Done():
				onErr(i, ctx.Err())
			}
		}
	}
	futures := make([]jetstream.PubAckFuture, len(jobs))
	for i, j := range jobs {
		m := nats.NewMsg(historySubject)
		m.Data = j.Data
		m.Header.Set(jobHeader, j.ID)
		m.Header.Set(revHeaderArchived, strconv.FormatUint(j.Rev, 10))
		var err error
		if futures[i], err = b.js.PublishMsgAsync(m, jetstream.WithMsgID(j.ID)); err != nil {
			errs[i] = unavailable("archive job", err)
		}
	}
	wait(futures, appended, func(i int, err error) { errs[i] = unavailable("archive job", err) })
	// Then the purges, of those appended: each a purge of the job's
	// subject at its revision, with a marker that expires, so that
	// watchers see the job leave and no marker stays behind.
	for i, j := range jobs {
		futures[i] = nil
		if errs[i] != nil {
			continue
		}
		m := nats.NewMsg(jobsSubjectPrefix + j.ID)
		m.Header.Set("KV-Operation", "PURGE")
		m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(j.Rev, 10))
		var err error
		if futures[i], err = b.js.PublishMsgAsync(m, jetstream.WithMsgTTL(archivedMarkerTTL)); err != nil {
			errs[i] = unavailable("archive job", err)
		}
	}
	wait(futures, nil, func(i int, err error) {
		if isWrongLastSequence(err) {
			errs[i] = ErrArchived
		} else {
			errs[i] = unavailable("archive job", err)
		}
	})
	return errs
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// ArchivedRecord returns the record of job id that the history stream
// holds at seq, or ENOTFOUND when it holds none there (expired).
func (b *Broker) ArchivedRecord(ctx context.Context, id string, seq uint64) ([]byte, error) {
	st, err := b.historyStream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := b.getMsg(ctx, st, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, unavailable("read history", err)
	}
	if err != nil || m.Header.Get(jobHeader) != id || isDeletion(m.Header) {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "job %q not found", id)
	}
	return m.Data, nil
}

func (b *Broker) historyStream(ctx context.Context) (jetstream.Stream, error) {
	if st := b.history.Load(); st != nil {
		return *st, nil
	}
	st, err := b.js.Stream(ctx, HistoryStream)
	if err != nil {
		return nil, unavailable("read history", err)
	}
	b.history.Store(&st)
	return st, nil
}

// Archived is a history message as FollowHistory hands it over.
type Archived struct {
	Seq  uint64
	Time time.Time
	ID   string
	Data []byte
	// Rev is the store revision the record had (0: not said).
	Rev uint64
	// Deleted marks the marker of a deleted job (see MarkDeleted): Data
	// is empty, and ID names the job to forget.
	Deleted bool
}

// FollowHistory calls fn with every history message after the one at
// sequence after (0: from the first retained), in order, until ctx ends;
// then it stops, and done is closed once fn has returned for the last
// time. Markers of deleted jobs come in their place, with Deleted set.
// caughtUp is closed once the messages there were when it started
// have been handed over. fn runs on one goroutine.
func (b *Broker) FollowHistory(ctx context.Context, after uint64, fn func(Archived)) (caughtUp, done <-chan struct{}, err error) {
	f, done, err := b.follow(ctx, b.orderedFrom(HistoryStream, historySubject), after, "the history", func(m jetstream.Msg, md *jetstream.MsgMetadata) {
		rev, _ := strconv.ParseUint(m.Headers().Get(revHeaderArchived), 10, 64)
		fn(Archived{Seq: md.Sequence.Stream, Time: md.Timestamp, ID: m.Headers().Get(jobHeader), Data: m.Data(), Rev: rev, Deleted: isDeletion(m.Headers())})
	})
	if err != nil {
		return nil, nil, err
	}
	return f.CaughtUp, done, nil
}

// allowMsgTTL lets the messages of stream carry their own TTL (Archive's
// markers), for a stream made before it did.
func (b *Broker) allowMsgTTL(ctx context.Context, stream string) error {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	if cfg.AllowMsgTTL {
		return nil
	}
	cfg.AllowMsgTTL = true
	_, err = b.js.UpdateStream(ctx, cfg)
	return err
}

// JobKeys calls fn with the id of every job the job store holds: the live
// jobs, and finished ones not archived yet.
func (b *Broker) JobKeys(ctx context.Context, fn func(id string)) error {
	l, err := b.jobs.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		return unavailable("list jobs", err)
	}
	defer l.Stop()
	for k := range l.Keys() {
		fn(k)
	}
	return nil
}
