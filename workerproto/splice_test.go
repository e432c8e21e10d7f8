package workerproto

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestWriteLargeJob checks that a job line with a large input, written
// around its input, reads back as the marshaled line does, and that an
// input with a newline between its tokens still makes one line.
func TestWriteLargeJob(t *testing.T) {
	big := `{"rows":[` + strings.Repeat(`{"a":"x\ny","b":[1,2.5,null]},`, spliceMin/25) + `0]}`
	for _, input := range []string{big, strings.Replace(big, ",", ",\n", 3)} {
		j := &Job{ID: "j1", Algorithm: "count", Input: json.RawMessage(input), Attempt: 2, OutputDir: "/tmp/x"}
		var out bytes.Buffer
		if err := NewWriter(&out).Write(j); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(out.Bytes(), []byte("\n")) != 1 || !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			t.Fatalf("not one line: %d newlines", bytes.Count(out.Bytes(), []byte("\n")))
		}
		m, err := NewReader(&out).Next()
		if err != nil {
			t.Fatal(err)
		}
		got := m.(*Job)
		var g, w any
		if err := json.Unmarshal(got.Input, &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(j.Input, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Error("the input read back differs")
		}
		got.Input, j.Input = nil, nil
		if !reflect.DeepEqual(got, j) {
			t.Errorf("read back %+v, want %+v", got, j)
		}
	}
}
