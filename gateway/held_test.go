package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestReadHeldRecord: a job that finished lately is read from the record
// the gateway holds until it archives it — the latest final version the
// store's watch brought, never one a delete or a later version replaced.
func TestReadHeldRecord(t *testing.T) {
	_, b := brokertest.Open(t)
	g := started(t, Config{Broker: b, ArchiveAfter: time.Hour})
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	get := func(id string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/v1/jobs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		return resp.StatusCode, bytes.TrimSpace(body.Bytes())
	}
	now := time.Now().UTC()
	finished := func(id, output string) *conveyor.Job {
		return &conveyor.Job{ID: id, Algorithm: "a", Status: conveyor.StatusSucceeded, Input: []byte(`{}`), Output: []byte(output),
			MaxAttempts: 1, Attempt: 1, CreatedAt: now, StartedAt: &now, FinishedAt: &now}
	}
	// The requests for job records this gateway makes of the store.
	storeReads, err := b.Conn().SubscribeSync("$JS.API.DIRECT.GET.KV_" + broker.JobsBucket + ".>")
	if err != nil {
		t.Fatal(err)
	}
	reads := func() int {
		t.Helper()
		if err := b.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		n, _, err := storeReads.Pending()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	heldOutput := func(id string) string {
		var j conveyor.Job
		if data := g.archive.held(id); data == nil || json.Unmarshal(data, &j) != nil {
			return ""
		}
		return string(j.Output)
	}

	// Read from memory, as the store holds it.
	j := finished("01J0000000000000000000HELD", `{"v":1}`)
	if _, err := b.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the finished job held", func() bool { return heldOutput(j.ID) == `{"v":1}` })
	stored, _, err := b.GetJobRecord(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := reads()
	if code, body := get(j.ID); code != 200 || !bytes.Equal(body, stored) {
		t.Fatalf("GET: %d %s, want 200 %s", code, body, stored)
	}
	if n := reads() - before; n != 0 {
		t.Errorf("GET of a held job read the store %d times, want 0", n)
	}

	// A later final version replaces it.
	_, rev, err := b.GetJob(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.UpdateJob(t.Context(), j.ID, j, rev, func(j *conveyor.Job) error {
		j.Output = []byte(`{"v":2}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the later version held", func() bool { return heldOutput(j.ID) == `{"v":2}` })
	if code, body := get(j.ID); code != 200 || !bytes.Contains(body, []byte(`"output":{"v":2}`)) {
		t.Fatalf("GET after a later version: %d %s", code, body)
	}

	// A version that may not be archived is not held, nor the one before.
	_, rev, err = b.GetJob(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.UpdateJob(t.Context(), j.ID, j, rev, func(j *conveyor.Job) error {
		j.Output = []byte(`{"v":3}`)
		j.IdempotencyKey = "k"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the unarchivable version dropped", func() bool { return g.archive.held(j.ID) == nil })
	if code, body := get(j.ID); code != 200 || !bytes.Contains(body, []byte(`"output":{"v":3}`)) {
		t.Fatalf("GET of the unarchivable version: %d %s", code, body)
	}

	// Deleted: gone at once, not read from memory.
	k := finished("01J0000000000000000000HELE", `{"v":1}`)
	if _, err := b.CreateJob(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the second job held", func() bool { return g.archive.held(k.ID) != nil })
	req, _ := http.NewRequest("DELETE", srv.URL+"/v1/jobs/"+k.ID, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	before = reads()
	if code, body := get(k.ID); code != 404 {
		t.Fatalf("GET of the deleted job: %d %s, want 404", code, body)
	}
	if reads() == before {
		t.Error("GET of a job not held did not read the store: the count above proves nothing")
	}
}

// TestDeleteInStoreAndHistory: a job whose archive was cut short between
// its append and its purge is in both places; a delete removes both, and
// a read of it before answers its record.
func TestDeleteInStoreAndHistory(t *testing.T) {
	_, b := brokertest.Open(t)
	g := started(t, Config{Broker: b, ArchiveAfter: time.Hour})
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	now := time.Now().UTC()
	j := &conveyor.Job{ID: "01J0000000000000000000BOTH", Algorithm: "a", Status: conveyor.StatusSucceeded, Input: []byte(`{}`),
		Output: []byte(`{"v":1}`), MaxAttempts: 1, Attempt: 1, CreatedAt: now, StartedAt: &now, FinishedAt: &now}
	stored, err := b.CreateJob(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	// Appended, then the purge refused (at a revision the record is not
	// at): in the history and still in the store.
	var seq uint64
	errs := b.Archive(t.Context(), []broker.ToArchive{{ID: j.ID, Data: stored.Data(), Rev: stored.Rev + 1}}, func(_ int, at uint64) { seq = at })
	if seq == 0 || !errors.Is(errs[0], broker.ErrArchived) {
		t.Fatalf("archive cut short: appended at %d, %v", seq, errs[0])
	}
	testenv.Eventually(t, "the index to know where the history has it", func() bool { return g.disk.ArchivedAt(t.Context(), j.ID) == seq })
	g.archive.forget(j.ID) // not held: read as a gateway that restarted would
	resp, err := http.Get(srv.URL + "/v1/jobs/" + j.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/v1/jobs/"+j.ID, nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if _, _, err := b.GetJobRecord(t.Context(), j.ID); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the store still has the deleted job: %v", err)
	}
	if _, err := b.ArchivedRecord(t.Context(), j.ID, seq); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the history still has the deleted job: %v", err)
	}
}

// BenchmarkGetFinished measures GET /v1/jobs/{id} of a job that finished
// lately, as a client that polls it or waits for it reads it.
func BenchmarkGetFinished(b *testing.B) {
	benchGet(b, time.Hour, "", func(g *Gateway, id string) bool { return g.archive.holds(id) })
}

// BenchmarkGetArchived measures GET /v1/jobs/{id} of a job archived
// already: as a client reads results it comes back for.
func BenchmarkGetArchived(b *testing.B) {
	benchGet(b, time.Millisecond, "", func(g *Gateway, id string) bool {
		_, _, err := g.b.GetJobRecord(b.Context(), id)
		return conveyor.ErrorCode(err) == conveyor.ENOTFOUND && g.disk.ArchivedAt(b.Context(), id) > 0
	})
}

// BenchmarkGetKept measures GET /v1/jobs/{id} of a finished job the
// store keeps: one bound to an idempotency key, on a gateway that
// archives the others; keep_finished, on one that archives none.
func BenchmarkGetKept(b *testing.B) {
	kept := func(g *Gateway, id string) bool { return g.disk.Final(b.Context(), id) }
	b.Run("idempotency_key", func(b *testing.B) { benchGet(b, time.Millisecond, "k", kept) })
	b.Run("keep_finished", func(b *testing.B) { benchGet(b, -1, "", kept) })
}

// benchGet measures GET /v1/jobs/{id} of a finished job, on a gateway
// archiving after archiveAfter, once ready says the job is where the
// benchmark wants it; idempotencyKey, if not empty, is the job's.
func benchGet(b *testing.B, archiveAfter time.Duration, idempotencyKey string, ready func(g *Gateway, id string) bool) {
	_, br := brokertest.Open(b)
	g := started(b, Config{Broker: br, ArchiveAfter: archiveAfter})
	now := time.Now().UTC()
	j := &conveyor.Job{ID: "01J0000000000000000000BNCH", Algorithm: "a", Status: conveyor.StatusSucceeded, Input: []byte(`{"n":7}`),
		Output: []byte(`{"prime":true}`), MaxAttempts: 1, Attempt: 1, CreatedAt: now, StartedAt: &now, FinishedAt: &now, IdempotencyKey: idempotencyKey}
	if _, err := br.CreateJob(b.Context(), j); err != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, "the job where the benchmark reads it", func() bool { return ready(g, j.ID) })
	h := g.Handler()
	req := httptest.NewRequest("GET", "http://127.0.0.1/v1/jobs/"+j.ID, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
