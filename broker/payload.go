package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// LargePayload is the size, in bytes of compact JSON, from which a job's
// input is kept in the object store rather than in its record (see
// conveyor.PayloadRef): every version of a record is a message of the job
// store, of its watchers, of the queue and of the history, and a large
// one costs the broker buffers of its size in each.
const LargePayload = 256 << 10

// Names, in a payload file's metadata, of what it holds of its job.
const (
	payloadInput  = "$input"
	payloadOutput = "$output"
)

// FileStorer is the part of the broker that stores a payload.
type FileStorer interface {
	StoreFile(ctx context.Context, r io.Reader, opt PutFile) (FileInfo, error)
}

// FileOpener is the part of the broker that reads a payload.
type FileOpener interface {
	ReadFile(ctx context.Context, id string, offset int64) (io.ReadCloser, error)
}

// StoreInput keeps the input of job j in the object store when it is
// large (LargePayload or more): it stores it as a file of j's tenant, kept
// as long as a job's record (see PutFile.Job), and sets j.InputRef. The
// record of j then holds the reference and no input (see marshalJob); j
// keeps its Input for the caller. It returns the file's id ("" when the
// input stays inline), which the caller removes should the job not be
// accepted after all, and StoreFile's errors.
func StoreInput(ctx context.Context, b FileStorer, j *conveyor.Job) (string, error) {
	if j.InputRef != nil || len(j.Input) < LargePayload {
		return "", nil
	}
	ref, err := StorePayload(ctx, b, j, payloadInput, j.Input)
	if err != nil {
		return "", err
	}
	j.InputRef = ref
	return ref.File, nil
}

// StoreOutput keeps out, the output of an attempt of job j, in the object
// store when it is large (LargePayload or more), compacted, and returns its
// reference; nil when it stays inline. The caller puts the reference in
// the record (Job.OutputRef, or the next stage's Stage.InputRef) and
// removes the file should the record not take it.
func StoreOutput(ctx context.Context, b FileStorer, j *conveyor.Job, out json.RawMessage) (*conveyor.PayloadRef, error) {
	if len(out) < LargePayload {
		return nil, nil
	}
	if !jsonscan.Compact(out) {
		var buf bytes.Buffer
		buf.Grow(len(out))
		if err := json.Compact(&buf, out); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		out = buf.Bytes()
	}
	return StorePayload(ctx, b, j, payloadOutput, out)
}

// StorePayload stores payload, the compact JSON of job j's input or
// output (what names which), as a file of j's tenant, and returns its
// reference.
func StorePayload(ctx context.Context, b FileStorer, j *conveyor.Job, what string, payload []byte) (*conveyor.PayloadRef, error) {
	fi, err := b.StoreFile(ctx, bytes.NewReader(payload), PutFile{Tenant: j.Tenant, ContentType: "application/json", Job: j.ID, Name: what})
	if err != nil {
		return nil, err
	}
	return &conveyor.PayloadRef{File: fi.ID, Size: fi.Size, SHA256: fi.SHA256}, nil
}

// ReadPayload returns the payload ref stands for, read from the object
// store into one buffer of its size. It returns ENOTFOUND when the file is
// gone, and ReadFile's other errors.
func ReadPayload(ctx context.Context, b FileOpener, ref *conveyor.PayloadRef) ([]byte, error) {
	rc, err := b.ReadFile(ctx, ref.File, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, ref.Size)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("payload %s: %w", ref.File, err)
	}
	// To the end: the reader checks the digest there.
	if n, err := rc.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("longer than its %d bytes", ref.Size)
		}
		return nil, fmt.Errorf("payload %s: %w", ref.File, err)
	}
	return buf, nil
}

// Payloads returns the references of the payloads job j keeps in the
// object store: of its input, its output and its stage's input.
func Payloads(j *conveyor.Job) []*conveyor.PayloadRef {
	var refs []*conveyor.PayloadRef
	for _, ref := range []*conveyor.PayloadRef{j.InputRef, j.OutputRef} {
		if ref != nil {
			refs = append(refs, ref)
		}
	}
	if j.Stage != nil && j.Stage.InputRef != nil {
		refs = append(refs, j.Stage.InputRef)
	}
	return refs
}

// FileKeeper is the part of the broker that keeps a payload's file.
type FileKeeper interface {
	StatFile(ctx context.Context, id string) (FileInfo, error)
	KeepFile(ctx context.Context, fi FileInfo, until time.Time) error
}

// KeepPayloads keeps the files of refs until about until (see KeepFile):
// the record that refers to them was written, and lives that long. It
// reads each file's description and writes it once in a while. A file it
// cannot keep keeps its earlier time.
func KeepPayloads(ctx context.Context, b FileKeeper, refs []*conveyor.PayloadRef, until time.Time) {
	for _, ref := range refs {
		if fi, err := b.StatFile(ctx, ref.File); err == nil {
			_ = b.KeepFile(ctx, fi, until)
		}
	}
}

// payloadRefs are the members of a job record that stand for a payload,
// and the member each stands for.
var payloadRefs = []struct{ ref, member string }{{"input_ref", "input"}, {"output_ref", "output"}}

// JobJSON is a job record as a client sees it, ready to be written: each
// payload kept in the object store in its place (see OpenJobJSON).
type JobJSON struct {
	parts []jobPart
	size  int64 // of the whole
}

// jobPart is a part of a JobJSON: text, or a payload to stream.
type jobPart struct {
	text    []byte
	payload io.ReadCloser
}

// OpenJobJSON opens the payloads the job record data refers to
// (input_ref, output_ref), so that WriteTo writes the record with each
// payload streamed from the object store, a chunk at a time, in place of
// its reference — the JSON json.Marshal of the job with its payloads
// inline would give. A record with no reference is written as it is.
// A payload that is gone (its file deleted) is written as null. Every
// payload is opened before anything is written, so that a caller can
// still answer an error: EUNAVAILABLE when the broker cannot be read.
// Close it (or WriteTo it) when done.
func OpenJobJSON(ctx context.Context, b FileOpener, data []byte) (*JobJSON, error) {
	if !bytes.Contains(data, []byte(`_ref":{`)) {
		return &JobJSON{parts: []jobPart{{text: data}}}, nil
	}
	cuts, err := payloadCuts(data, data, true)
	if err != nil {
		return nil, err
	}
	if len(cuts) == 0 {
		return &JobJSON{parts: []jobPart{{text: data}}}, nil
	}
	slices.SortFunc(cuts, func(a, b cut) int { return a.start - b.start })
	out := &JobJSON{}
	done := 0
	for _, c := range cuts {
		out.parts = append(out.parts, jobPart{text: data[done:c.start]})
		done = c.end
		if c.ref == nil {
			continue
		}
		out.parts = append(out.parts, jobPart{text: []byte(`,"` + c.key + `":`)})
		rc, err := b.ReadFile(ctx, c.ref.File, 0)
		if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			// Gone (deleted, or the job outlived it): the job is
			// still the job, with no payload.
			out.parts = append(out.parts, jobPart{text: []byte("null")})
			continue
		}
		if err != nil {
			out.Close()
			return nil, err
		}
		out.parts = append(out.parts, jobPart{payload: rc})
		out.size += c.ref.Size
	}
	out.parts = append(out.parts, jobPart{text: data[done:]})
	for _, p := range out.parts {
		out.size += int64(len(p.text))
	}
	return out, nil
}

// cut is a member of a job record that a client does not see as it is:
// a payload's reference, written as the payload (key, ref), or the null
// the payload stands in for, dropped (no ref). Its extent in the record
// has the member's leading comma.
type cut struct {
	start, end int
	ref        *conveyor.PayloadRef
	key        string
}

// payloadCuts returns the cuts of the object obj, a part of the record
// data, and of the stage object within it.
func payloadCuts(data, obj []byte, top bool) ([]cut, error) {
	type member struct{ start, end int }
	members := map[string]member{}
	prev := cap(data) - cap(obj) + bytes.IndexByte(obj, '{') + 1
	var stage []byte
	jsonscan.Members(obj, func(key string, v []byte) bool {
		end := cap(data) - cap(v) + len(v)
		members[key] = member{prev, end}
		prev = end
		if key == "stage" && top {
			stage = v
		}
		return true
	})
	var cuts []cut
	for _, p := range payloadRefs {
		m, ok := members[p.ref]
		if !ok || data[m.start] != ',' { // never first: the id (or name) is
			continue
		}
		var ref conveyor.PayloadRef
		if err := jsonUnmarshalMember(data[m.start:m.end], &ref); err != nil || ref.File == "" {
			return nil, fmt.Errorf("job record: bad %s: %v", p.ref, err)
		}
		cuts = append(cuts, cut{m.start, m.end, &ref, p.member})
		if inline, ok := members[p.member]; ok && data[inline.start] == ',' {
			cuts = append(cuts, cut{start: inline.start, end: inline.end}) // "input":null
		}
	}
	if bytes.Contains(stage, []byte(`_ref":{`)) {
		in, err := payloadCuts(data, stage, false)
		if err != nil {
			return nil, err
		}
		cuts = append(cuts, in...)
	}
	return cuts, nil
}

// jsonUnmarshalMember decodes the value of member, text of the form
// `,"key":value`.
func jsonUnmarshalMember(member []byte, v any) error {
	i := bytes.IndexByte(member, ':')
	if i < 0 {
		return errors.New("no value")
	}
	return json.Unmarshal(member[i+1:], v)
}

// WriteTo writes the job's JSON to w, streaming its payloads, and closes
// them. An error reading a payload midway is returned as is (what was
// written of the job then is not JSON).
func (j *JobJSON) WriteTo(w io.Writer) (int64, error) {
	defer j.Close()
	var n int64
	for _, p := range j.parts {
		if p.payload == nil {
			k, err := w.Write(p.text)
			n += int64(k)
			if err != nil {
				return n, err
			}
			continue
		}
		k, err := io.Copy(w, p.payload)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Bytes returns the job's JSON whole, its payloads read into it.
func (j *JobJSON) Bytes() ([]byte, error) {
	if len(j.parts) == 1 && j.parts[0].payload == nil {
		return j.parts[0].text, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, j.size+bytes.MinRead)) // ReadFrom wants MinRead spare
	_, err := j.WriteTo(buf)
	return buf.Bytes(), err
}

// Close closes the payloads not written.
func (j *JobJSON) Close() {
	for i := range j.parts {
		if p := j.parts[i].payload; p != nil {
			_ = p.Close()
			j.parts[i].payload = nil
		}
	}
}

// JobJSON returns the JSON of job record data as a client sees it, with
// its payloads read into it (see OpenJobJSON): for one that must have it
// whole, as a callback's signed body.
func (b *Broker) JobJSON(ctx context.Context, data []byte) ([]byte, error) {
	jj, err := OpenJobJSON(ctx, b, data)
	if err != nil {
		return nil, err
	}
	return jj.Bytes()
}
