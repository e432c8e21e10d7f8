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
	if errs := b.Archive(ctx, []ToArchive{{j.ID, s.Data(), s.Rev + 1}}, nil); !errors.Is(errs[0], ErrArchived) {
		t.Fatalf("archive at a revision the record is not at: %v, want ErrArchived", errs[0])
	}
	var appendedAt uint64
	if errs := b.Archive(ctx, []ToArchive{{j.ID, s.Data(), s.Rev}}, func(_ int, seq uint64) { appendedAt = seq }); errs[0] != nil {
		t.Fatal(errs[0])
	}
	var seq uint64
	caughtUp, _, err := b.FollowHistory(ctx, 0, func(a Archived) {
		if a.ID == j.ID {
			seq = a.Seq
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-caughtUp
	if seq == 0 || seq != appendedAt {
		t.Fatalf("appended at %d, the history has it at %d", appendedAt, seq)
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
	if errs := b.Archive(ctx, []ToArchive{{j.ID, s.Data(), s.Rev}}, nil); !errors.Is(errs[0], ErrArchived) {
		t.Errorf("a second archive: %v, want ErrArchived", errs[0])
	}
	hs, err := b.js.Stream(ctx, HistoryStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := hs.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("the history holds %+v after two archives of one job, want 1 message", info.State)
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

// TestReadsDirect: the queue and the history are read by direct gets —
// streams made before they allowed them are updated when a broker opens
// them — and a message not there is not found either way.
func TestReadsDirect(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := t.Context()
	for _, name := range []string{QueueStream, HistoryStream} {
		st, err := b.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		cfg.AllowDirect = false
		if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(ctx, b.Conn(), b.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{QueueStream, HistoryStream} {
		st, err := b.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !st.CachedInfo().Config.AllowDirect {
			t.Errorf("%s does not allow direct gets after Open", name)
		}
	}
	now := time.Now().UTC()
	j := &conveyor.Job{ID: ulid.Make().String(), Algorithm: "a", Status: conveyor.StatusSucceeded, Input: json.RawMessage(`{}`),
		Attempt: 1, MaxAttempts: 1, CreatedAt: now, FinishedAt: &now}
	s, err := b.CreateJob(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	if errs := b.Archive(ctx, []ToArchive{{j.ID, s.Data(), s.Rev}}, func(_ int, at uint64) { seq = at }); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if data, err := b.ArchivedRecord(ctx, j.ID, seq); err != nil || string(data) != string(s.Data()) {
		t.Fatalf("archived record: %s, %v", data, err)
	}
	if _, err := b.ArchivedRecord(ctx, j.ID, seq+100); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("a record past the history's end: %v, want ENOTFOUND", err)
	}
	if _, err := b.QueuedRecord(ctx, 1<<40); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("a queue message past the queue's end: %v, want ENOTFOUND", err)
	}
}
