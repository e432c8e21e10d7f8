package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestMembersAndElements(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, ` { "a" : 1 , "b\"c" : [1, {"x": "]}"}], "\u00e9": null, "d": -1.5e3, "e": true} `,
		`[ 1, "two", {"three": [3]}, [], {}, false, null, "\\" ]`,
	} {
		var want any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		var got any
		switch want.(type) {
		case map[string]any:
			m := map[string]any{}
			Members([]byte(doc), func(k string, v []byte) bool {
				var x any
				if err := json.Unmarshal(v, &x); err != nil {
					t.Fatalf("%s: member %q: %q: %v", doc, k, v, err)
				}
				m[k] = x
				return true
			})
			got = m
		case []any:
			a := []any{}
			Elements([]byte(doc), func(i int, v []byte) bool {
				if i != len(a) {
					t.Fatalf("%s: index %d, want %d", doc, i, len(a))
				}
				var x any
				if err := json.Unmarshal(v, &x); err != nil {
					t.Fatalf("%s: element %d: %q: %v", doc, i, v, err)
				}
				a = append(a, x)
				return true
			})
			got = a
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", doc, got, want)
		}
	}
}

func TestEnd(t *testing.T) {
	for doc, want := range map[string]int{`"a\"b" x`: 6, `123,`: 3, `{"a":"}"} `: 9, `[[],[1]]]`: 8, `null`: 4} {
		if got := End([]byte(doc), 0); got != want {
			t.Errorf("End(%s) = %d, want %d", doc, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	doc := []byte(`{"a": {"input": 1}, "input" : [1, 2], "z": 0}`)
	s, e, ok := Find(doc, "input")
	if !ok || string(doc[s:e]) != "[1, 2]" {
		t.Errorf("Find = %d, %d, %v: %q", s, e, ok, doc[s:e])
	}
	if _, _, ok := Find(doc, "b"); ok {
		t.Error("found b")
	}
	if s, e, ok := Find(doc[5:18], "input"); !ok || string(doc[5:18][s:e]) != "1" {
		t.Errorf("Find in a sub-slice = %d, %d, %v", s, e, ok)
	}
}

func TestCompact(t *testing.T) {
	for doc, want := range map[string]bool{`{"a":"b c","d":[1,2]}`: true, `{"a": 1}`: false, `["\" ",1]`: true, "[1,\n2]": false, ` 1`: false} {
		if got := Compact([]byte(doc)); got != want {
			t.Errorf("Compact(%q) = %v", doc, got)
		}
	}
}

// TestRawMembers: keys as written, and whether the object was walked to
// its end.
func TestRawMembers(t *testing.T) {
	var keys []string
	if !RawMembers([]byte(` {"a\"b": 1, "c": {"d": 2}} `), func(k, _ []byte) bool { keys = append(keys, string(k)); return true }) {
		t.Error("a whole object: not walked to its end")
	}
	if want := []string{`"a\"b"`, `"c"`}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	for _, doc := range []string{``, `[]`, `{"a": 1`, `{"a": 1} x`, `{"a" 1}`, `{"`, `{"a": 1, }`} {
		if RawMembers([]byte(doc), func(_, _ []byte) bool { return true }) {
			t.Errorf("%q: walked to its end", doc)
		}
	}
	if RawMembers([]byte(`{"a": 1, "b": 2}`), func(k, _ []byte) bool { return string(k) != `"b"` }) {
		t.Error("stopped by f: walked to its end")
	}
}
