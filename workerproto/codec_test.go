package workerproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// transcripts returns the conversation transcripts of testdata.
func transcripts(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if filepath.Base(p) != "malformed.jsonl" {
			out = append(out, p)
		}
	}
	if len(out) < 3 {
		t.Fatalf("transcripts: %v", out)
	}
	return out
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// TestTranscriptsRoundTrip decodes every line of the golden transcripts and
// encodes it again: the same JSON must come out.
func TestTranscriptsRoundTrip(t *testing.T) {
	for _, path := range transcripts(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for i, line := range lines(t, path) {
				m, err := Decode(line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if i == 0 && m.Type() != TypeHello {
					t.Errorf("line 1 is %s, want hello", m.Type())
				}
				again, err := Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				var a, b any
				_ = json.Unmarshal(line, &a)
				_ = json.Unmarshal(again, &b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("line %d changed:\n in  %s\n out %s", i+1, line, again)
				}
			}
		})
	}
}

func TestMalformedLinesAreRejected(t *testing.T) {
	for _, line := range lines(t, "testdata/malformed.jsonl") {
		m, err := Decode(line)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: got %#v, %v; want a *DecodeError", line, m, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "malformed protocol line: ") || de.Line == "" {
			t.Errorf("%s: unclear error %q", line, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ line, reason string }{
		{`{"type":"job","id":"j","algorithm":"a","input":{},"attempt":"1"}`, `job: field "attempt" must be a number, not string`},
		{`{"type":"progress","id":"j","percent":150}`, `"percent" must be between 0 and 100, not 150`},
		{`{"type":"progress","id":"j"}`, `"percent" is required`},
		{`{"type":"hello","protocol":1,"algorithms":[{"name":"a"},{"name":"a"}]}`, "a is announced twice"},
		{`{"type":"next_gen"}`, `unknown message type "next_gen"`},
		{`{"type":"batch","algorithm":"a","jobs":[{"id":"j","input":1},{"input":2}]}`, `jobs[1]: "id" is required`},
		{`{"type":"hello","protocol":1,"algorithms":[{"name":"a","batch":{"max_size":0}}]}`, `batch: "max_size" must be a positive integer`},
		{`garbage`, "not a JSON object"},
		{`{"type":"log","message":"x"`, "invalid JSON"},
	} {
		_, err := Decode([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: error %v, want it to say %q", tc.line, err, tc.reason)
		}
	}
	_, err := Decode([]byte(`{"type":"next_gen"}`))
	if de := (*DecodeError)(nil); !errors.As(err, &de) || !de.Unknown {
		t.Errorf("unknown type: %#v", err)
	}
}

func TestMarshal(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{&Job{ID: "j", Algorithm: "a", Input: json.RawMessage(`{"x":1}`), Attempt: 2, Deadline: &deadline},
			`{"type":"job","id":"j","algorithm":"a","input":{"x":1},"attempt":2,"deadline":"2030-01-02T03:04:05Z"}`},
		{&Batch{Algorithm: "a", Jobs: []BatchJob{{ID: "j", Input: json.RawMessage(`"x"`), Attempt: 1, Deadline: &deadline}, {ID: "k", Input: json.RawMessage(`2`), Attempt: 3, Traceparent: "t"}}},
			`{"type":"batch","algorithm":"a","jobs":[{"id":"j","input":"x","attempt":1,"deadline":"2030-01-02T03:04:05Z"},{"id":"k","input":2,"attempt":3,"traceparent":"t"}]}`},
		{&Hello{Protocol: 1, Algorithms: []Algorithm{{Name: "a", Batch: &BatchSpec{MaxSize: 32, MaxWait: 0.01}}}},
			`{"type":"hello","protocol":1,"algorithms":[{"name":"a","batch":{"max_size":32,"max_wait":0.01}}]}`},
		{&Cancel{ID: "j"}, `{"type":"cancel","id":"j"}`},
		{&Error{ID: "j", Error: ErrorBody{Type: "canceled", Message: "m"}}, `{"type":"error","id":"j","error":{"type":"canceled","message":"m"},"retryable":false}`},
		{&Result{ID: "j", Output: json.RawMessage(`null`)}, `{"type":"result","id":"j","output":null}`},
	} {
		got, err := Marshal(tc.m)
		if err != nil || string(got) != tc.want {
			t.Errorf("Marshal(%#v) = %s, %v\nwant %s", tc.m, got, err, tc.want)
		}
	}
}

func TestReader(t *testing.T) {
	long := `{"type":"log","message":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	input := "\n" + `{"type":"cancel","id":"a"}` + "\r\n" + "junk\n" + long + "\n" + `{"type":"cancel","id":"b"}`
	r := NewReader(strings.NewReader(input))
	var got []string
	for {
		m, err := r.Next()
		var de *DecodeError
		switch {
		case err == nil:
			got = append(got, "cancel "+m.(*Cancel).ID)
		case errors.As(err, &de):
			got = append(got, "bad long="+map[bool]string{true: "yes", false: "no"}[de.TooLong])
			if len(de.Line) > 210 {
				t.Errorf("excerpt of %d bytes", len(de.Line))
			}
		case err == io.EOF:
			want := "cancel a|bad long=no|bad long=yes|cancel b"
			if strings.Join(got, "|") != want {
				t.Fatalf("got %q, want %q", strings.Join(got, "|"), want)
			}
			return
		default:
			t.Fatal(err)
		}
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(&Progress{ID: "j", Percent: 5, Message: "m"}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Scan()
	m, err := Decode(sc.Bytes())
	if err != nil || !reflect.DeepEqual(m, &Progress{ID: "j", Percent: 5, Message: "m"}) {
		t.Fatalf("read back %#v, %v", m, err)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// survives a round trip.
func FuzzDecode(f *testing.F) {
	for _, p := range []string{"testdata/success.jsonl", "testdata/errors.jsonl", "testdata/cancel.jsonl", "testdata/batch.jsonl", "testdata/malformed.jsonl"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := Decode(line)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T, want *DecodeError", err)
			}
			return
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", m, err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
	})
}

// TestReaderLargeResult: a large result is decoded whole, and the Reader
// does not hold its line's buffer for the next line.
func TestReaderLargeResult(t *testing.T) {
	out := `{"rows":"` + strings.Repeat("x", 4<<20) + `"}`
	r := NewReader(strings.NewReader(`{"type":"result","id":"a","output":` + out + "}\n" + `{"type":"cancel","id":"b"}` + "\n"))
	m, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if res, ok := m.(*Result); !ok || string(res.Output) != out {
		t.Fatalf("got %T", m)
	}
	if cap(r.line) > keepLine {
		t.Errorf("the Reader holds a line buffer of %d bytes", cap(r.line))
	}
	if m, err := r.Next(); err != nil || m.(*Cancel).ID != "b" {
		t.Errorf("the next line: %v %v", m, err)
	}
}
