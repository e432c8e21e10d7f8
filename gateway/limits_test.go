package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
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
