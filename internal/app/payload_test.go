package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// payloadConfig is testConfig with the Python module testdata/bigmod.py:
// digest (what it saw of a large input) and blob (a large output).
func payloadConfig(t *testing.T) config.Config {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = os.ReadFile("testdata/bigmod.py") // so that go test's cache sees it
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms,
		pyWorker(testenv.Python(t), dir, "bigmod", config.Algorithm{Workers: config.Workers{Max: 1}}))
	cfg.WithDefaults()
	return cfg
}

// rowsOf returns compact JSON rows of about n bytes in all, as bigmod's
// digest takes them, and the hex SHA-256 of the rows' JSON.
func rowsOf(n int) (rows json.RawMessage, sum string) {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d,"s":"%s"}`, i, strings.Repeat("x", 90))
	}
	b.WriteByte(']')
	h := sha256.Sum256([]byte(b.String()))
	return json.RawMessage(b.String()), hex.EncodeToString(h[:])
}

// storedRecord returns the record of job id as the job store holds it.
func (s *server) storedRecord(id string) []byte {
	s.t.Helper()
	data, _, err := s.app.broker.GetJobRecord(s.t.Context(), id)
	if err != nil {
		s.t.Fatalf("record of %s: %v", id, err)
	}
	return data
}

// inputRef returns the reference the record of job id holds to its input,
// or nil when the input is inline.
func (s *server) inputRef(id string) *conveyor.PayloadRef {
	s.t.Helper()
	var j conveyor.Job
	if err := json.Unmarshal(s.storedRecord(id), &j); err != nil {
		s.t.Fatal(err)
	}
	return j.InputRef
}

// TestLargeInput: a job with a ~1 MB input is kept with a reference to
// its input in the object store, not the input, in its record; the worker
// gets the input whole, and every read of the job gives it as submitted —
// GET, its events, a list with include=input, a batch's answer; a retry
// copies it; a delete removes it. An input just under the threshold stays
// in the record.
func TestLargeInput(t *testing.T) {
	s := startServer(t, payloadConfig(t))
	ctx := t.Context()
	rows, sum := rowsOf(1 << 20)
	input := json.RawMessage(`{"rows":` + string(rows) + `}`)
	wantOut := fmt.Sprintf(`{"rows":%d,"sha256":"%s"}`, bytes.Count(rows, []byte(`"i":`)), sum)

	j := s.submit(map[string]any{"algorithm": "digest", "input": input}, "", http.StatusAccepted)
	if !bytes.Equal(j.Input, input) {
		t.Fatalf("the submit's answer has an input of %d bytes, want the %d submitted", len(j.Input), len(input))
	}
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusSucceeded || string(done.Output) != wantOut {
		t.Fatalf("job %s: %s %+v, want output %s", done.ID, done.Output, done.Error, wantOut)
	}
	if !bytes.Equal(done.Input, input) {
		t.Errorf("the finished job has an input of %d bytes, want the %d submitted", len(done.Input), len(input))
	}
	rec := s.storedRecord(j.ID)
	ref := s.inputRef(j.ID)
	if len(rec) > 4096 || ref == nil || ref.Size != int64(len(input)) {
		t.Fatalf("the stored record (%d bytes) refers to %+v: %.300s", len(rec), ref, rec)
	}
	fi, err := s.app.broker.StatFile(ctx, ref.File)
	if err != nil || fi.SHA256 != ref.SHA256 {
		t.Fatalf("the input's file: %+v (%v)", fi, err)
	}

	// GET: the same JSON as a job with its input inline — in its place,
	// no reference.
	code, _, body := s.getBody("/v1/jobs/" + j.ID)
	if code != 200 || !bytes.Contains(body, []byte(`"input":`+string(input)+`,"output":`+wantOut+`,"attempt"`)) || bytes.Contains(body, []byte("input_ref")) {
		t.Errorf("GET: %d %.200s", code, body)
	}
	// Its events.
	evs := readEvents(t, s, j.ID, "")
	var status conveyor.Job
	if err := json.Unmarshal([]byte(evs[0].data), &status); evs[0].name != "status" || err != nil || !bytes.Equal(status.Input, input) {
		t.Errorf("first event %s (%v): an input of %d bytes", evs[0].name, err, len(status.Input))
	}
	// A list that includes inputs.
	var list struct {
		Jobs []conveyor.JobSummary `json:"jobs"`
	}
	if resp := s.do("GET", "/v1/jobs?algorithm=digest&include=input", nil, &list); resp.StatusCode != 200 || len(list.Jobs) != 1 || !bytes.Equal(list.Jobs[0].Input, input) {
		t.Errorf("list with include=input: %d, %d jobs", resp.StatusCode, len(list.Jobs))
	}

	// A retry gets a copy of its own.
	var retry conveyor.Job
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/retry", nil, &retry); resp.StatusCode != 202 || !bytes.Equal(retry.Input, input) {
		t.Fatalf("retry: %d, input of %d bytes", resp.StatusCode, len(retry.Input))
	}
	if done := s.wait(retry.ID); done.Status != conveyor.StatusSucceeded || string(done.Output) != wantOut {
		t.Errorf("the retry: %s %s %+v", done.Status, done.Output, done.Error)
	}
	rref := s.inputRef(retry.ID)
	if rref == nil || rref.File == ref.File || rref.SHA256 != ref.SHA256 {
		t.Errorf("the retry's input: %+v, the job's %+v", rref, ref)
	}

	// A batch's answer.
	var batch struct {
		Jobs []conveyor.Job `json:"jobs"`
	}
	if resp := s.do("POST", "/v1/jobs/batch", map[string]any{"jobs": []any{map[string]any{"algorithm": "digest", "input": input}}}, &batch); resp.StatusCode != 202 || len(batch.Jobs) != 1 || !bytes.Equal(batch.Jobs[0].Input, input) {
		t.Fatalf("batch: %d", resp.StatusCode)
	}
	if done := s.wait(batch.Jobs[0].ID); string(done.Output) != wantOut || s.inputRef(done.ID) == nil {
		t.Errorf("the batch's job: %s %+v", done.Output, done.Error)
	}

	// A submit again with the same idempotency key is the first job,
	// and stores no second input.
	keyed := s.submit(map[string]any{"algorithm": "digest", "input": input, "idempotency_key": "k1"}, "", http.StatusAccepted)
	msgs, _, err := s.app.broker.FilesStored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again := s.submit(map[string]any{"algorithm": "digest", "input": input, "idempotency_key": "k1"}, "", http.StatusOK)
	if after, _, _ := s.app.broker.FilesStored(ctx); again.ID != keyed.ID || !bytes.Equal(again.Input, input) || after != msgs {
		t.Errorf("the same keyed submit again: job %s (first %s), input of %d bytes, file messages %d → %d", again.ID, keyed.ID, len(again.Input), msgs, after)
	}
	s.wait(keyed.ID)

	// A schedule's triggered job.
	if resp := s.do("POST", "/v1/schedules", map[string]any{"name": "big", "algorithm": "digest", "every": "1h", "input": input}, nil); resp.StatusCode != 201 {
		t.Fatalf("schedule: %d", resp.StatusCode)
	}
	var trig conveyor.Job
	if resp := s.do("POST", "/v1/schedules/big/trigger", nil, &trig); resp.StatusCode != 202 || !bytes.Equal(trig.Input, input) {
		t.Fatalf("trigger: %d, input of %d bytes", resp.StatusCode, len(trig.Input))
	}
	if done := s.wait(trig.ID); string(done.Output) != wantOut || s.inputRef(trig.ID) == nil {
		t.Errorf("the triggered job: %s %+v", done.Output, done.Error)
	}

	// A delete removes the input's file.
	if resp := s.do("DELETE", "/v1/jobs/"+j.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := s.app.broker.StatFile(ctx, ref.File); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the deleted job's input file: %v, want ENOTFOUND", err)
	}
	if _, err := s.app.broker.StatFile(ctx, rref.File); err != nil {
		t.Errorf("the retry's input file, after its original's delete: %v", err)
	}

	// An input gone before the job runs fails it at once, saying so.
	late := s.submit(map[string]any{"algorithm": "digest", "input": input, "delay": "1s"}, "", http.StatusAccepted)
	if err := s.app.broker.DeleteFile(ctx, s.inputRef(late.ID).File); err != nil {
		t.Fatal(err)
	}
	if done := s.wait(late.ID); done.Status != conveyor.StatusFailed || done.Attempt != 1 || done.Error == nil || !strings.Contains(done.Error.Message, "is gone") {
		t.Errorf("a job whose input is gone: %s after %d attempts, %+v", done.Status, done.Attempt, done.Error)
	}
	if code, _, body := s.getBody("/v1/jobs/" + late.ID); code != 200 || !bytes.Contains(body, []byte(`"input":null,"error"`)) || bytes.Contains(body, []byte("_ref")) {
		t.Errorf("GET a job whose input is gone: %d %.200s, want it with a null input", code, body)
	}
	if resp := s.do("POST", "/v1/jobs/"+late.ID+"/retry", nil, nil); resp.StatusCode != 409 {
		t.Errorf("retry a job whose input is gone: %d, want 409", resp.StatusCode)
	}

	// Just under the threshold: in the record.
	rows, sum = rowsOf(broker.LargePayload - 2048)
	input = json.RawMessage(`{"rows":` + string(rows) + `}`)
	small := s.submit(map[string]any{"algorithm": "digest", "input": input}, "", http.StatusAccepted)
	done = s.wait(small.ID)
	if !strings.Contains(string(done.Output), sum) || !bytes.Equal(done.Input, input) {
		t.Errorf("a job just under the threshold: %s %+v", done.Output, done.Error)
	}
	if rec := s.storedRecord(small.ID); s.inputRef(small.ID) != nil || !bytes.Contains(rec, input) {
		t.Errorf("a job just under the threshold: its record (%d bytes) does not hold its input", len(rec))
	}
}

// blobOutput is bigmod's blob output of n rows, compact.
func blobOutput(n int) string {
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d,"s":"%s"}`, i, strings.Repeat("x", 90))
	}
	b.WriteString(`]}`)
	return b.String()
}

// TestLargeOutput: a ~1 MB output is kept in the object store, its record
// holding a reference; the API gives it in its place, compact. In a
// pipeline, the next stage gets a large output as its input by reference;
// a delete removes every file. An output just under the threshold stays
// in the record.
func TestLargeOutput(t *testing.T) {
	cfg := payloadConfig(t)
	cfg.Algorithms = append(cfg.Algorithms, config.Algorithm{Name: "blob_digest", Pipeline: []string{"blob", "digest"}})
	cfg.WithDefaults()
	s := startServer(t, cfg)
	ctx := t.Context()
	const n = 10000 // rows: ~1 MB
	want := blobOutput(n)
	refs := func(id string) conveyor.Job {
		var j conveyor.Job
		if err := json.Unmarshal(s.storedRecord(id), &j); err != nil {
			t.Fatal(err)
		}
		return j
	}

	j := s.submit(map[string]any{"algorithm": "blob", "input": map[string]any{"n": n}}, "", http.StatusAccepted)
	done := s.wait(j.ID)
	if done.Status != conveyor.StatusSucceeded || string(done.Output) != want {
		t.Fatalf("job %s: %.100s %+v", done.Status, done.Output, done.Error)
	}
	rec := s.storedRecord(j.ID)
	stored := refs(j.ID)
	if len(rec) > 4096 || stored.OutputRef == nil || stored.OutputRef.Size != int64(len(want)) || stored.Output != nil {
		t.Fatalf("the stored record (%d bytes): %.300s", len(rec), rec)
	}
	code, _, body := s.getBody("/v1/jobs/" + j.ID)
	if code != 200 || !bytes.Contains(body, []byte(`"output":`+want+`,"attempt"`)) || bytes.Contains(body, []byte("_ref")) {
		t.Errorf("GET: %d %.200s", code, body)
	}
	var list struct {
		Jobs []conveyor.JobSummary `json:"jobs"`
	}
	if resp := s.do("GET", "/v1/jobs?algorithm=blob&include=output", nil, &list); resp.StatusCode != 200 || len(list.Jobs) != 1 || string(list.Jobs[0].Output) != want {
		t.Errorf("list with include=output: %d, %d jobs", resp.StatusCode, len(list.Jobs))
	}
	evs := readEvents(t, s, j.ID, "")
	var status conveyor.Job
	if err := json.Unmarshal([]byte(evs[0].data), &status); err != nil || string(status.Output) != want {
		t.Errorf("first event %s (%v): an output of %d bytes", evs[0].name, err, len(status.Output))
	}
	if resp := s.do("DELETE", "/v1/jobs/"+j.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := s.app.broker.StatFile(ctx, stored.OutputRef.File); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the deleted job's output file: %v, want ENOTFOUND", err)
	}

	// A pipeline: blob's output is digest's input, by reference.
	rows := want[len(`{"rows":`) : len(want)-1]
	h := sha256.Sum256([]byte(rows))
	sum := hex.EncodeToString(h[:])
	p := s.submit(map[string]any{"algorithm": "blob_digest", "input": map[string]any{"n": n}}, "", http.StatusAccepted)
	done = s.wait(p.ID)
	if wantOut := fmt.Sprintf(`{"rows":%d,"sha256":"%s"}`, n, sum); done.Status != conveyor.StatusSucceeded || string(done.Output) != wantOut {
		t.Fatalf("pipeline: %s %s %+v, want %s", done.Status, done.Output, done.Error, wantOut)
	}
	if done.Stage == nil || string(done.Stage.Input) != want {
		t.Errorf("the pipeline's last stage has an input of %d bytes, want blob's output", len(done.Stage.Input))
	}
	stored = refs(p.ID)
	if stored.Stage == nil || stored.Stage.InputRef == nil || stored.Stage.Input != nil {
		t.Fatalf("the pipeline's record: stage %+v", stored.Stage)
	}
	if resp := s.do("DELETE", "/v1/jobs/"+p.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := s.app.broker.StatFile(ctx, stored.Stage.InputRef.File); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("the deleted pipeline's stage input file: %v, want ENOTFOUND", err)
	}

	// Just under the threshold: in the record.
	small := 0
	for len(blobOutput(small+100)) < broker.LargePayload {
		small += 100
	}
	j = s.submit(map[string]any{"algorithm": "blob", "input": map[string]any{"n": small}}, "", http.StatusAccepted)
	if done := s.wait(j.ID); string(done.Output) != blobOutput(small) {
		t.Errorf("a job just under the threshold: %.100s %+v", done.Output, done.Error)
	}
	if stored := refs(j.ID); stored.OutputRef != nil || len(stored.Output) == 0 {
		t.Errorf("a job just under the threshold: its output is not in its record")
	}
}
