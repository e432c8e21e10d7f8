package broker

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestMarshalJobSplices checks that a record with large payloads, written
// by splicing them in, reads back as the job json.Marshal writes.
func TestMarshalJobSplices(t *testing.T) {
	big := json.RawMessage(`{"rows": [` + strings.Repeat(`{"a": "x<y", "b": [1, 2.5, null]}, `, spliceMin/20) + `0]}`)
	small := json.RawMessage(`{"n":1}`)
	for name, j := range map[string]*conveyor.Job{
		"input":        {ID: "a", Algorithm: "x", Status: conveyor.StatusQueued, Input: big, Labels: map[string]string{"input": "0"}},
		"output":       {ID: "b", Algorithm: "x", Status: conveyor.StatusSucceeded, Input: small, Output: big},
		"both":         {ID: "c", Algorithm: "x", Status: conveyor.StatusSucceeded, Input: big, Output: big},
		"stage":        {ID: "d", Algorithm: "p", Status: conveyor.StatusQueued, Input: small, Stage: &conveyor.Stage{Name: "s", Index: 1, Of: 2, Step: 1, Input: big}},
		"all":          {ID: "e", Algorithm: "p", Status: conveyor.StatusSucceeded, Input: big, Output: big, Stage: &conveyor.Stage{Name: "s", Input: big}},
		"stage, small": {ID: "f", Algorithm: "p", Status: conveyor.StatusQueued, Input: big, Stage: &conveyor.Stage{Name: "s"}},
	} {
		got, err := marshalJob(j)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var g, w conveyor.Job
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		// The same JSON, but for json.Marshal's HTML escapes.
		for _, p := range []*json.RawMessage{&g.Input, &g.Output, &w.Input, &w.Output} {
			var b bytes.Buffer
			json.HTMLEscape(&b, *p)
			*p = b.Bytes()
		}
		if g.Stage != nil {
			var b bytes.Buffer
			json.HTMLEscape(&b, g.Stage.Input)
			g.Stage.Input = b.Bytes()
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: spliced record reads back otherwise:\n%.300s\n%.300s", name, got, want)
		}
	}
	if _, err := marshalJob(&conveyor.Job{ID: "g", Input: json.RawMessage(`{"a": ` + strings.Repeat(" ", spliceMin))}); err == nil {
		t.Error("a malformed input was marshaled")
	}
}
