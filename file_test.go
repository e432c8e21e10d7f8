package conveyor

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFileRefs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []FileRef
		bad  string // pointer of the violation, if refused
	}{
		{`{"a":1}`, nil, ""},
		{`{"$file":"F1"}`, []FileRef{{"", "F1"}}, ""},
		{`{"b":[{"$file":"F2"},{"c":{"$file":"F3","path":"/x"}}],"a":{"$file":"F1"}}`, []FileRef{{"/a", "F1"}, {"/b/0", "F2"}, {"/b/1/c", "F3"}}, ""},
		{`{"a/b~c":{"$file":"F"}}`, []FileRef{{"/a~1b~0c", "F"}}, ""},
		{`{"x":{"\u0024file":"F"}}`, []FileRef{{"/x", "F"}}, ""},
		{`{"x":[{"$file":7}]}`, nil, "/x/0"},
		{`{"x":{"$file":""}}`, nil, "/x"},
		{`"$file"`, nil, ""},
	} {
		got, err := FileRefs([]byte(c.in))
		if c.bad != "" {
			var e *Error
			if err == nil || !asError(err, &e) || len(e.Details) != 1 || e.Details[0].Pointer != c.bad {
				t.Errorf("%s: %v, want a violation at %s", c.in, err, c.bad)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}

func TestReplaceFileRefs(t *testing.T) {
	out, err := ReplaceFileRefs([]byte(`{"n":1.50,"d":[{"$file":"F"}],"s":"<a>"}`), func(ptr, id string) (json.RawMessage, error) {
		return json.Marshal(File{ID: id, Path: "/tmp/x" + ptr})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":[{"$file":"F","path":"/tmp/x/d/0"}],"n":1.50,"s":"<a>"}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}
