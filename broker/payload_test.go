package broker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// bigJSON is a compact JSON object of about n bytes.
func bigJSON(n int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d,"s":"%s"}`, i, strings.Repeat("x", 90))
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String())
}

// TestLargeInputStored: a large input is stored as a file, the record
// holds its reference and no input, and OpenJobJSON gives the JSON the
// record would have with its input inline; a small one stays in the record.
func TestLargeInputStored(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := t.Context()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	newJob := func(input json.RawMessage) *conveyor.Job {
		return &conveyor.Job{ID: "J" + fmt.Sprint(len(input)), Algorithm: "a", Status: conveyor.StatusQueued, Tenant: "t1", Input: input, MaxAttempts: 3, CreatedAt: now}
	}

	small := newJob(bigJSON(LargePayload - 1024))
	if file, err := StoreInput(ctx, b, small); err != nil || file != "" || small.InputRef != nil {
		t.Fatalf("a small input: stored %q (%v)", file, err)
	}

	big := newJob(bigJSON(1 << 20))
	inline, err := json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	file, err := StoreInput(ctx, b, big)
	if err != nil || file == "" || big.InputRef == nil || big.InputRef.Size != int64(len(big.Input)) {
		t.Fatalf("a large input: stored %q, ref %+v (%v)", file, big.InputRef, err)
	}
	fi, err := b.StatFile(ctx, file)
	if err != nil || fi.Tenant != "t1" || fi.Job != big.ID || fi.SHA256 != big.InputRef.SHA256 {
		t.Fatalf("its file: %+v (%v)", fi, err)
	}
	if !fi.ExpiresAt.After(time.Now().Add(b.Config().Retention)) {
		t.Errorf("its file expires at %v: before the job's record would", fi.ExpiresAt)
	}
	// A record written later keeps its payloads with it.
	later := time.Now().Add(3 * b.Config().Retention)
	if refs := Payloads(big); len(refs) != 1 || refs[0] != big.InputRef {
		t.Fatalf("Payloads: %v", refs)
	}
	KeepPayloads(ctx, b, Payloads(big), later)
	if kept, err := b.StatFile(ctx, file); err != nil || kept.ExpiresAt.Before(later) {
		t.Errorf("kept until %v (%v), want after %v", kept.ExpiresAt, err, later)
	}
	s, err := b.CreateJob(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := b.GetJobRecord(ctx, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 2048 || !bytes.Contains(data, []byte(`"input":null,"input_ref":{"file":"`+file+`"`)) || !bytes.Equal(data, s.Data()) {
		t.Fatalf("the record (%d bytes): %.300s", len(data), data)
	}
	if _, err := Unstored(big); err != nil {
		t.Errorf("a job whose input is stored cannot travel unstored: %v", err)
	}
	got, err := b.JobJSON(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, inline) {
		t.Errorf("the job as clients see it differs from its JSON with its input inline:\n%.200s\n%.200s", got, inline)
	}
	// The runner's read.
	in, err := ReadPayload(ctx, b, big.InputRef)
	if err != nil || !bytes.Equal(in, big.Input) {
		t.Errorf("ReadPayload: %d bytes (%v)", len(in), err)
	}

	// With an output too, a record's other members are kept as they are.
	withOut := []byte(`{"id":"x","input":null,"input_ref":{"file":"` + file + `","size":1,"sha256":""},"output":{"a":1},"attempt":1}`)
	got, err = b.JobJSON(ctx, withOut)
	if want := `{"id":"x","input":` + string(big.Input) + `,"output":{"a":1},"attempt":1}`; err != nil || string(got) != want {
		t.Errorf("JobJSON: %.100s (%v)", got, err)
	}
	// A record with no reference is passed on as it is.
	plain := []byte(`{"id":"y","input":{"input_ref":{"file":"z"}},"attempt":1}`)
	if got, err := b.JobJSON(ctx, plain); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("JobJSON of a record with no reference: %s (%v)", got, err)
	}

	if err := b.DeleteFile(ctx, file); err != nil {
		t.Fatal(err)
	}
	if got, err := b.JobJSON(ctx, data); err != nil || !bytes.Contains(got, []byte(`"input":null,"attempt"`)) || bytes.Contains(got, []byte("_ref")) {
		t.Errorf("a record whose input is gone: %.200s (%v), want its input null", got, err)
	}
	if _, err := ReadPayload(ctx, b, big.InputRef); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Errorf("ReadPayload of an input gone: %v, want ENOTFOUND", err)
	}
}
