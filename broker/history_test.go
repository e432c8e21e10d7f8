package broker

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestArchive: a finished job leaves the job store for the history
// stream, where it is read by sequence; its subject leaves the store (and
// with it the memory JetStream keeps per subject) once the marker
// expires; an archive of a record that moved on does nothing.
func TestArchive(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := t.Context()
	now := time.Now().UTC()
	j := &conveyor.Job{ID: ulid.Make().String(), Algorithm: "a", Status: conveyor.StatusSucceeded, Input: json.RawMessage(`{}`),
		Output: json.RawMessage(`{"ok":true}`), Attempt: 1, MaxAttempts: 1, CreatedAt: now, FinishedAt: &now}
	s, err := b.CreateJob(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Archive(ctx, j.ID, s.Data(), s.Rev+1); !errors.Is(err, ErrArchived) {
		t.Fatalf("archive at a revision the record is not at: %v, want ErrArchived", err)
	}
	seq, err := b.Archive(ctx, j.ID, s.Data(), s.Rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.GetJobRecord(ctx, j.ID); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("the archived job is still in the store: %v", err)
	}
	data, err := b.ArchivedRecord(ctx, j.ID, seq)
	if err != nil || string(data) != string(s.Data()) {
		t.Fatalf("archived record: %s, %v", data, err)
	}
	if _, err := b.ArchivedRecord(ctx, "other", seq); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("another job's record at seq: %v", err)
	}
	// Archived twice (another gateway): one message.
	again, _ := b.Archive(ctx, j.ID, s.Data(), s.Rev)
	if again != seq {
		t.Errorf("a second archive made message %d, want the first, %d", again, seq)
	}
	st, err := b.js.Stream(ctx, "KV_"+JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the job's subject to leave the store", func() bool {
		info, err := st.Info(ctx)
		return err == nil && info.State.NumSubjects == 0
	})
}
