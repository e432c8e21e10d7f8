package conveyor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// summaryRecords are job records as Conveyor writes them, in the shapes
// a job takes through its life.
func summaryRecords(t testing.TB) [][]byte {
	created := time.Date(2026, 12, 5, 18, 0, 0, 123456789, time.UTC)
	started := created.Add(1500 * time.Microsecond)
	finished := started.Add(2*time.Second + 345678*time.Microsecond)
	quick := started.Add(731 * time.Nanosecond)
	micro := started.Add(15 * time.Microsecond)
	zoned := finished.In(time.FixedZone("CET", 3600))
	jobs := []Job{
		{ID: "01JQ", Algorithm: "is_prime", Status: StatusQueued, Input: json.RawMessage(`{"n":7}`), Attempt: 0, MaxAttempts: 3, Priority: "normal", CreatedAt: created},
		{ID: "01JR", Algorithm: "is_prime", Status: StatusRunning, Tenant: "acme", Input: json.RawMessage(`{"n":7}`), Attempt: 1, MaxAttempts: 3, Priority: "high",
			Labels: map[string]string{"batch": "7", "a<b": "x&y", "ü": "\u2028"}, CreatedAt: created, StartedAt: &started, Runner: "r-1",
			Progress: &Progress{Percent: 33.333333333333336, Message: "a third"}, Timeout: Duration(time.Minute), Mutex: "m", Traceparent: "00-x"},
		{ID: "01JS", Algorithm: "is_prime", Status: StatusSucceeded, Input: json.RawMessage(`{"n":7}`), Output: json.RawMessage(`{"prime":true,"why":"\"quoted\" <b>"}`),
			Attempt: 1, MaxAttempts: 3, Priority: "normal", CreatedAt: created, StartedAt: &started, FinishedAt: &finished, Runner: "r-1",
			Progress: &Progress{Percent: 100}, Artifacts: []Artifact{{Name: "out", File: "f1", Size: 3}}},
		{ID: "01JT", Algorithm: "fails", Status: StatusFailed, Attempt: 3, MaxAttempts: 3, Priority: "low", CreatedAt: created, StartedAt: &started, FinishedAt: &quick,
			Error:    &JobError{Type: ErrorTypeError, Message: "bad \"input\"\nline two", Detail: "Traceback (most recent call last):\n  ..."},
			Requires: Requirements{"gpu": "h100", "zone": "eu"}, RetryOf: "01JA", Callback: &Callback{URL: "http://127.0.0.1:1/cb"}},
		{ID: "01JU", Algorithm: "facts", Status: StatusRunning, Attempt: 1, MaxAttempts: 1, Priority: "normal", CreatedAt: created, StartedAt: &started,
			Pipeline: &Pipeline{Stages: []string{"factorize", "describe"}}, Stage: &Stage{Name: "describe", Index: 1, Of: 2, Step: 1, Input: json.RawMessage(`{"factors":[2,2,3]}`)}},
		{ID: "01JZ", Algorithm: "facts", Status: StatusRunning, Attempt: 1, MaxAttempts: 1, Priority: "normal", CreatedAt: created, StartedAt: &started,
			InputRef: &PayloadRef{File: "01IN", Size: 300000}, Pipeline: &Pipeline{Stages: []string{"factorize", "describe"}},
			Stage: &Stage{Name: "describe", Index: 1, Of: 2, Step: 1, InputRef: &PayloadRef{File: "01ST", Size: 400000}}},
		{ID: "01JV", Algorithm: "facts", Status: StatusCanceled, Attempt: 1, MaxAttempts: 1, Priority: "normal", CreatedAt: created, StartedAt: &started, FinishedAt: &zoned,
			Error: &JobError{Type: ErrorTypeCanceled, Message: ""}, Stage: &Stage{Name: "factorize", Index: 0, Of: 2}},
		{ID: "01JW", Algorithm: "later", Status: StatusScheduled, Priority: "normal", CreatedAt: created, RunAt: &finished, IdempotencyKey: "k-1"},
		{ID: "01JY", Algorithm: "quick", Status: StatusSucceeded, Attempt: 1, MaxAttempts: 3, Priority: "normal", CreatedAt: created, StartedAt: &started, FinishedAt: &micro},
		{ID: "01JX", Algorithm: "never", Status: StatusCanceled, Priority: "normal", CreatedAt: created, FinishedAt: &finished},
	}
	var recs [][]byte
	for _, j := range jobs {
		b, err := json.Marshal(&j)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	return recs
}

func slowSummary(record []byte) ([]byte, SummaryKeys, error) {
	s, err := Summarize(record)
	if err != nil {
		return nil, SummaryKeys{}, err
	}
	b, err := json.Marshal(s)
	k := SummaryKeys{ID: s.ID, Algorithm: s.Algorithm, Tenant: s.Tenant, Status: s.Status}
	if len(s.Labels) > 0 {
		k.Labels, _ = json.Marshal(s.Labels)
	}
	return b, k, err
}

// checkSummary fails t if AppendSummary and Summarize disagree on record.
func checkSummary(t *testing.T, record []byte) {
	t.Helper()
	want, wantKeys, wantErr := slowSummary(record)
	got, keys, err := AppendSummary([]byte("prefix:"), record)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("record %s: error %v, Summarize's %v", record, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix:")) {
		t.Fatalf("record %s: %s does not keep what the buffer held", record, got)
	}
	if got = got[len("prefix:"):]; !bytes.Equal(got, want) {
		t.Fatalf("record %s:\n got %s\nwant %s", record, got, want)
	}
	if keys.ID != wantKeys.ID || keys.Algorithm != wantKeys.Algorithm || keys.Tenant != wantKeys.Tenant ||
		keys.Status != wantKeys.Status || !bytes.Equal(keys.Labels, wantKeys.Labels) {
		t.Fatalf("record %s: keys %+v (labels %s), want %+v (labels %s)", record, keys, keys.Labels, wantKeys, wantKeys.Labels)
	}
}

func TestAppendSummary(t *testing.T) {
	for i, rec := range summaryRecords(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkSummary(t, rec)
			// Records as Conveyor writes them take the fast path.
			if _, _, ok := appendSummaryFast(nil, rec); !ok {
				t.Errorf("record %s: not summarized on the fast path", rec)
			}
		})
	}
	// Records another encoder wrote, or that are no records: the two agree.
	for _, rec := range []string{
		``, `null`, `[]`, `{}`, `{"id":""}`, `{"id":"a"}`, `{"id":"a","id":"b","algorithm":"x","status":"queued"}`,
		`{"ID":"a","algorithm":"x","status":"queued","created_at":"2026-01-01T00:00:00Z"}`,
		`{"id":"a","algorithm":"x","status":"queued","attempt":1.0,"created_at":"2026-01-01T00:00:00Z"}`,
		`{"id":"a","algorithm":"x","status":"queued","attempt":-0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z"}`,
		`{"id":"a","algorithm":"x","status":"queued","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00.000Z"}`,
		`{ "id" : "a" , "algorithm":"x","status":"succeeded","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","started_at":null,"finished_at":"2026-01-01T00:00:01Z" }`,
		`{"id":"a","algorithm":"x","status":"failed","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","error":{},"labels":{}}`,
		`{"id":"a","algorithm":"x","status":"failed","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","error":{"message":"m","type":"t","extra":1}}`,
		`{"id":"a","algorithm":"x","status":"failed","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","labels":{"b":"1","a":"2"}}`,
		`{"id":"a","algorithm":"x","status":"failed","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","labels":{"a":"\u0041\/"}}`,
		`{"id":"a","algorithm":"x","status":"failed","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","duration":"1s"}`,
		`{"id":"a","algorithm":"x","status":"running","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","progress":{"percent":1e2}}`,
		`{"id":"a","algorithm":"x","status":"running","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z","stage":{"name":"s","index":0,"of":1,"step":0,"input":null}}`,
		`{"id":"a","algorithm":"x","status":"running","attempt":0,"max_attempts":0,"priority":"","created_at":"2026-01-01T00:00:00Z"} x`,
		"{\"id\":\"a\",\"algorithm\":\"x\\u00e9\",\"status\":\"queued\",\"attempt\":0,\"max_attempts\":0,\"priority\":\"\",\"created_at\":\"2026-01-01T00:00:00Z\",\"tenant\":\"\xff\"}",
	} {
		checkSummary(t, []byte(rec))
	}
}

// FuzzAppendSummary holds the fast path to what Summarize and
// json.Marshal make of any input.
func FuzzAppendSummary(f *testing.F) {
	for _, rec := range summaryRecords(f) {
		f.Add(rec)
		f.Add(bytes.Replace(rec, []byte(`"id"`), []byte(`"Id"`), 1))
		f.Add([]byte(strings.Replace(string(rec), `"status":"`, `"status": "`, 1)))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		if !json.Valid(rec) {
			return // Summarize refuses it; the fast path trusts its text is JSON
		}
		checkSummary(t, rec)
	})
}

func BenchmarkSummary(b *testing.B) {
	recs := summaryRecords(b)
	rec := recs[2] // succeeded
	b.Run("AppendSummary", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _, _ = AppendSummary(buf[:0], rec)
		}
	})
	b.Run("Summarize+Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, _ := Summarize(rec)
			json.Marshal(s)
		}
	})
}
