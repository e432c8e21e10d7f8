package broker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
)

// TestDelete: a deletion marker comes through the history feed in order,
// with Deleted set and no record; RemoveJob removes the archived record
// and the log, and leaves another job's message alone.
func TestDelete(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := t.Context()
	now := time.Now().UTC()
	var archivedAt []uint64
	var ids []string
	for range 2 {
		j := &conveyor.Job{ID: ulid.Make().String(), Algorithm: "a", Status: conveyor.StatusFailed, Input: json.RawMessage(`{}`),
			Attempt: 1, MaxAttempts: 1, CreatedAt: now, FinishedAt: &now}
		s, err := b.CreateJob(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if errs := b.Archive(ctx, []ToArchive{{j.ID, s.Data(), s.Rev}}, func(_ int, seq uint64) { archivedAt = append(archivedAt, seq) }); errs[0] != nil {
			t.Fatal(errs[0])
		}
		f, err := b.AppendLog(j.ID, 0, conveyor.LogLine{Time: now, Stream: "stdout", Line: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		<-f.Stored()
		ids = append(ids, j.ID)
	}
	id := ids[0]
	marker, err := b.MarkDeleted(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Its history copy; another job's message, named wrongly, is left.
	if err := b.RemoveJob(ctx, id, false, archivedAt[1]); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveJob(ctx, id, false, archivedAt[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveJob(ctx, id, false, marker); err != nil {
		t.Fatal(err)
	}
	var got []Archived
	caughtUp, _, err := b.FollowHistory(ctx, 0, func(a Archived) { got = append(got, a) })
	if err != nil {
		t.Fatal(err)
	}
	<-caughtUp
	if len(got) != 2 || got[0].ID != ids[1] || got[0].Deleted || got[1].ID != id || !got[1].Deleted || len(got[1].Data) != 0 || got[1].Seq != marker {
		t.Fatalf("the history after the delete: %+v, want the other job's record, then the marker at %d", got, marker)
	}
	if _, err := b.ArchivedRecord(ctx, id, archivedAt[0]); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the deleted record: %v, want not found", err)
	}
	if _, err := b.ArchivedRecord(ctx, id, marker); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the marker read as a record: %v, want not found", err)
	}
	if lines, err := b.ReadLogs(ctx, id); err != nil || len(lines) != 0 {
		t.Errorf("the deleted job's log: %v, %v", lines, err)
	}
	if lines, err := b.ReadLogs(ctx, ids[1]); err != nil || len(lines) != 1 {
		t.Errorf("the other job's log: %v, %v", lines, err)
	}
}
