package broker

import (
	"context"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// A deleted job leaves every place the broker kept it: its record (in
// the job store, or in the history once archived) and its log. Every
// gateway's job index must forget it too, and those are fed by the
// broker's feeds, of which none can say "deleted" today: a purge of a
// job's key in the store is also how a finished job leaves it for the
// history (Archive), and a KV watch shows no headers to tell the two
// apart. So a delete appends a marker to the history stream first
// (MarkDeleted): every gateway follows that stream, in order, from a
// cursor its index persists, so each sees the marker exactly where it
// falls, after a restart too, and forgets the job. Then RemoveJob removes
// the data. The marker is no record: FollowHistory hands it over with
// Deleted set, and it expires with the history's retention.

// deletedHeader marks a history message that says its job was deleted.
const deletedHeader = "Conveyor-Deleted"

// MarkDeleted appends to the history the marker saying that job id is
// deleted, and returns its sequence. It returns an EUNAVAILABLE error
// when the broker cannot be written.
func (b *Broker) MarkDeleted(ctx context.Context, id string) (uint64, error) {
	m := nats.NewMsg(historySubject)
	m.Header.Set(jobHeader, id)
	m.Header.Set(deletedHeader, "true")
	ack, err := b.js.PublishMsg(ctx, m)
	if err != nil {
		return 0, unavailable("delete job", err)
	}
	return ack.Sequence, nil
}

// RemoveJob removes what the broker holds of the final job id: its
// record in the job store when inStore, the history message at
// archived (0: none) when it is the job's, and the job's log. What is
// already gone is no error; it returns an EUNAVAILABLE error when the
// broker cannot be written.
func (b *Broker) RemoveJob(ctx context.Context, id string, inStore bool, archived uint64) error {
	if !validKey(id) {
		return conveyor.Errorf(conveyor.ENOTFOUND, "job %q not found", id)
	}
	if inStore {
		// The purge's marker tells the store's watchers, then expires.
		if err := b.jobs.Purge(ctx, id, jetstream.PurgeTTL(archivedMarkerTTL)); err != nil {
			return unavailable("delete job", err)
		}
	}
	if archived > 0 {
		if err := b.DeleteArchived(ctx, id, archived); err != nil {
			return err
		}
	}
	st, err := b.js.Stream(ctx, LogStream)
	if err != nil {
		return unavailable("delete job logs", err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(LogSubject(id))); err != nil {
		return unavailable("delete job logs", err)
	}
	return nil
}

// DeleteArchived removes the history message at seq if it is a record
// of job id; a message that is gone, or another job's, is left as it
// is. It returns an EUNAVAILABLE error when the broker fails.
func (b *Broker) DeleteArchived(ctx context.Context, id string, seq uint64) error {
	st, err := b.historyStream(ctx)
	if err != nil {
		return err
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("delete job", err)
	}
	if m.Header.Get(jobHeader) != id || m.Header.Get(deletedHeader) != "" {
		return nil
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return unavailable("delete job", err)
	}
	return nil
}

// isDeletion reports whether the headers h are of a deletion marker.
func isDeletion(h nats.Header) bool {
	v, _ := strconv.ParseBool(h.Get(deletedHeader))
	return v
}
