package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// maxCASRetries bounds the read-modify-write loop of UpdateJob. Conflicts are
// rare (a cancel racing a result); a loop that never settles is a bug.
const maxCASRetries = 16

// GetJob returns the job with id and its revision in the store. It returns
// ENOTFOUND when there is no such job (never created, or expired).
func (b *Broker) GetJob(ctx context.Context, id string) (*conveyor.Job, uint64, error) {
	data, rev, err := b.GetJobRecord(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	var j conveyor.Job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, 0, fmt.Errorf("job %s: corrupt record: %w", id, err)
	}
	return &j, rev, nil
}

// GetJobRecord returns the stored JSON record of the job with id and its
// revision, for callers that pass it on as it is. It returns ENOTFOUND when
// there is no such job.
func (b *Broker) GetJobRecord(ctx context.Context, id string) ([]byte, uint64, error) {
	if !validKey(id) {
		return nil, 0, conveyor.Errorf(conveyor.ENOTFOUND, "job %q not found", id)
	}
	e, err := b.jobs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, conveyor.Errorf(conveyor.ENOTFOUND, "job %q not found", id)
	}
	if err != nil {
		return nil, 0, unavailable("read job", err)
	}
	return e.Value(), e.Revision(), nil
}

// Stored is a job record as it was written to the store.
type Stored struct {
	Job  *conveyor.Job
	Rev  uint64 // the record's revision
	data []byte // the record as written
	// Origin, when set, names the process that queues the job, on its
	// queue message: a follower of the queue tells its own messages from
	// others' without a lookup (see QueuedMsg.Origin).
	Origin string
}

// Data returns the record's JSON as it was written.
func (s Stored) Data() []byte { return s.data }

// StoredJob is j as stored at revision rev.
func StoredJob(j *conveyor.Job, rev uint64) (Stored, error) {
	data, err := marshalJob(j)
	if err != nil {
		return Stored{}, err
	}
	return Stored{Job: j, Rev: rev, data: data}, nil
}

// CreateJob stores a new job record. It returns ECONFLICT if the id is
// taken. It retries while the broker fails over (for up to 15s, bounded by
// ctx); a retry that finds the record an earlier try wrote (its
// acknowledgement lost) takes it as its own.
func (b *Broker) CreateJob(ctx context.Context, j *conveyor.Job) (Stored, error) {
	data, err := marshalJob(j)
	if err != nil {
		return Stored{}, err
	}
	var rev uint64
	tries := 0
	err = b.retry(ctx, func(ctx context.Context) error {
		tries++
		rev, err = b.jobs.Create(ctx, j.ID, data)
		if errors.Is(err, jetstream.ErrKeyExists) && tries > 1 {
			if e, gerr := b.jobs.Get(ctx, j.ID); gerr == nil && bytes.Equal(e.Value(), data) {
				rev, err = e.Revision(), nil
			}
		}
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Stored{}, conveyor.Errorf(conveyor.ECONFLICT, "job %s already exists", j.ID)
	}
	if err != nil {
		return Stored{}, unavailable("store job", err)
	}
	return Stored{Job: j, Rev: rev, data: data}, nil
}

// Unstored is j as a queue message alone holds it, for a job whose record
// the store does not have yet: Enqueue it, and the first writer of the job
// (its runner starting it, or a cancel) creates the record, by UpdateJob
// with revision 0. It spares each job one write.
func Unstored(j *conveyor.Job) (Stored, error) {
	if j.InputRef == nil && len(j.Input) > inlineMax {
		// Too large for certain: spare marshaling it.
		return Stored{}, fmt.Errorf("job %s: input of %d bytes is too large to travel unstored", j.ID, len(j.Input))
	}
	data, err := marshalJob(j)
	if err != nil {
		return Stored{}, err
	}
	if len(data) > inlineMax {
		return Stored{}, fmt.Errorf("job %s: record of %d bytes is too large to travel unstored", j.ID, len(data))
	}
	return Stored{Job: j, data: data}, nil
}

// DeleteJob removes a job record. It is used only to undo a job whose
// submission failed before the client was told it was accepted.
// The marker the purge leaves (which tells watchers) expires, and the
// job's key with it.
func (b *Broker) DeleteJob(ctx context.Context, id string) error {
	return b.jobs.Purge(ctx, id, jetstream.PurgeTTL(archivedMarkerTTL))
}

// UpdateJob changes a job by compare-and-swap: it applies change to the
// record at revision rev and writes the result only if nobody wrote in
// between. The record is j when the caller holds it, or a fresh read when
// j is nil; j with rev 0 is a job only its queue message holds (see
// Unstored), which the write creates unless someone did first. On a
// conflict it reads the record again and reapplies change, so change must
// depend only on the job it is given.
//
// It returns the job as written and its new revision. An error from change
// aborts the update and is returned as is (ECONFLICT for a transition the
// state machine forbids), with the record change refused and its revision.
// Its other errors are ENOTFOUND when there is no such job, EUNAVAILABLE
// when the broker cannot be read or written, and an uncoded one should
// the compare-and-swap not settle in maxCASRetries tries.
func (b *Broker) UpdateJob(ctx context.Context, id string, j *conveyor.Job, rev uint64, change func(*conveyor.Job) error) (*conveyor.Job, uint64, error) {
	for range maxCASRetries {
		if j == nil {
			var err error
			if j, rev, err = b.GetJob(ctx, id); err != nil {
				return nil, 0, err
			}
		}
		next := *j
		if err := change(&next); err != nil {
			return j, rev, err
		}
		data, err := marshalJob(&next)
		if err != nil {
			return nil, 0, err
		}
		var newRev uint64
		if rev == 0 {
			// The job is not in the store yet: only its queue message
			// holds it (see Unstored). Whoever writes first creates it.
			if newRev, err = b.jobs.Create(ctx, id, data); errors.Is(err, jetstream.ErrKeyExists) {
				err = jetstream.ErrKeyRevisionMismatch
			}
		} else {
			newRev, err = b.jobs.Update(ctx, id, data, rev)
		}
		if err == nil {
			return &next, newRev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, 0, unavailable("update job", err)
		}
		j = nil // someone else wrote: read again
	}
	return nil, 0, fmt.Errorf("job %s: compare-and-swap did not settle after %d tries", id, maxCASRetries)
}

// validKey reports whether s can be a key: ids come from clients in URLs.
func validKey(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func unavailable(what string, err error) error {
	return &conveyor.Error{Code: conveyor.EUNAVAILABLE, Message: what + ": the broker is unavailable", Err: err}
}

// LastRevision returns the last revision written to bucket (JobsBucket,
// AlgorithmsBucket or RunnersBucket), or 0 when the bucket holds no entry
// at all (every one expired), so that a watcher can tell that it is
// behind.
func (b *Broker) LastRevision(ctx context.Context, bucket string) (uint64, error) {
	kv := b.bucket(bucket)
	if kv == nil {
		return 0, fmt.Errorf("no bucket %s", bucket)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, unavailable("bucket status", err)
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo().State.Msgs == 0 {
		return 0, nil
	}
	return bs.StreamInfo().State.LastSeq, nil
}
