package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// FuzzCheckDepth checks checkDepth against the depth json.Decoder sees:
// for valid JSON, it refuses exactly what nests deeper than maxJSONDepth.
func FuzzCheckDepth(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `{"a":[1,{"b":"[[[["}]}`, `"\"[{"`, `[[["\\"]]]`,
		strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
		strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
		strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkDepth(data)
		if !json.Valid(data) {
			return
		}
		depth, deepest := 0, 0
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // a valid 1e700 is no float64
		for {
			tok, terr := dec.Token()
			if errors.Is(terr, io.EOF) {
				break
			}
			if terr != nil {
				t.Fatalf("%q: valid JSON, yet %v", data, terr)
			}
			switch tok {
			case json.Delim('['), json.Delim('{'):
				depth++
				deepest = max(deepest, depth)
			case json.Delim(']'), json.Delim('}'):
				depth--
			}
		}
		if (deepest > maxJSONDepth) != (err != nil) {
			t.Fatalf("%q: depth %d, checkDepth says %v", data, deepest, err)
		}
	})
}

// TestCheckUTF8 finds the string that is not valid UTF-8, value or key,
// and points at it.
func TestCheckUTF8(t *testing.T) {
	for _, tc := range []struct {
		json, pointer, message string
	}{
		{"{\"a\":\"ok\",\"b\":\"\xff\xfe\"}", "/b", "string is not valid UTF-8"},
		{"\"\xff\"", "", "string is not valid UTF-8"},
		{"{\"a\":[1,{\"x\":null},[\"y\",\"\xc3\"]]}", "/a/2/1", "string is not valid UTF-8"},
		{"{\"a\":{\"b\":{}},\"c\":[],\"d\":{\"e\":\"\xe2\x82\"}}", "/d/e", "string is not valid UTF-8"},
		{"{\"a/b\":{\"m~n\":\"\x80\"}}", "/a~1b/m~0n", "string is not valid UTF-8"},
		{"{\"input\":{\"k\xffz\":1}}", "/input/k\uFFFDz", "key is not valid UTF-8"},
		{"[{\"a\":1},{\"\xff\":2}]", "/1/\uFFFD", "key is not valid UTF-8"},
		{"{\"jobs\":[{\"input\":{}},{\"input\":{\"text\":\"caf\xe9\"}}]}", "/jobs/1/input/text", "string is not valid UTF-8"},
	} {
		err := checkUTF8([]byte(tc.json))
		var ce *conveyor.Error
		if !errors.As(err, &ce) || ce.Code != conveyor.EINVALID || len(ce.Details) != 1 {
			t.Errorf("%q: %v, want EINVALID with one violation", tc.json, err)
			continue
		}
		if v := ce.Details[0]; v.Pointer != tc.pointer || v.Message != tc.message {
			t.Errorf("%q: %+v, want %q %q", tc.json, v, tc.pointer, tc.message)
		}
	}
	for _, ok := range []string{`{"a":"é ü 日本 🚀"}`, `{"a":"\udcff"}`, `[]`, ``} {
		if err := checkUTF8([]byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
