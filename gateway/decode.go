package gateway

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// largeBody is the size from which decodeBytes decodes a body in place
// (decodeLarge) rather than through a json.Decoder, which copies the
// whole body into a buffer it grows by doubling: for a 4.5 MB input,
// 16 MB of garbage per decode.
const largeBody = 64 << 10

// decodeLarge is decodeJSON of data, without a json.Decoder: data is
// checked once, then unknown fields are looked for by a scan against v's
// type, and json.Unmarshal decodes it in place.
func decodeLarge(data []byte, v any) error {
	if !json.Valid(data) {
		// The decoder's error says what is wrong, and where.
		return decodeJSON(bytes.NewReader(data), v)
	}
	if name := unknownField(data, reflect.TypeOf(v)); name != "" {
		return conveyor.Errorf(conveyor.EINVALID, "malformed JSON in the request body: json: unknown field %q", name)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return conveyor.Errorf(conveyor.EINVALID, "malformed JSON in the request body: %v", err)
	}
	return nil
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownField returns the first key in the valid JSON data that a
// struct of type t (as json.Unmarshal fills it) has no field for, at any
// depth, as a json.Decoder with DisallowUnknownFields refuses it; "" if
// there is none. Values that decode themselves are not looked into.
func unknownField(data []byte, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType) {
			return ""
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return ""
	}
	var found string
	switch t.Kind() {
	case reflect.Struct:
		jsonscan.Members(data, func(key string, value []byte) bool {
			f, ok := fieldOf(t, key)
			if !ok {
				found = key
			} else {
				found = unknownField(value, f.Type)
			}
			return found == ""
		})
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return ""
		}
		jsonscan.Elements(data, func(_ int, value []byte) bool {
			found = unknownField(value, t.Elem())
			return found == ""
		})
	case reflect.Map:
		jsonscan.Members(data, func(_ string, value []byte) bool {
			found = unknownField(value, t.Elem())
			return found == ""
		})
	}
	return found
}

// fieldOf returns the field of struct type t that the JSON key fills, as
// encoding/json matches them: its exact name first, else one equal
// without regard to case.
func fieldOf(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold reflect.StructField
	folded := false
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !folded && strings.EqualFold(name, key) {
			fold, folded = f, true
		}
	}
	return fold, folded
}

// compactInput returns the JSON input without whitespace between its
// tokens: input itself when it has none (a large input is not copied
// for nothing), else a compacted copy. It returns EINVALID for malformed
// JSON.
func compactInput(input json.RawMessage) (json.RawMessage, error) {
	if jsonscan.Compact(input) && json.Valid(input) {
		return input, nil
	}
	var b bytes.Buffer
	b.Grow(len(input)) // one copy, not a buffer grown by doubling
	if err := json.Compact(&b, input); err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "malformed JSON in input")
	}
	return b.Bytes(), nil
}
