package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor"
)

// checkUTF8 returns EINVALID when a string of the JSON in data, a value or
// an object key, is not valid UTF-8 (RFC 8259 requires it): stored as
// sent, it would be echoed raw to every reader of the job, and clients
// that decode strictly (Python's) fail on it. The violation's pointer is
// the string's within data; a key's invalid bytes are shown there as
// U+FFFD. JSON that is not valid otherwise is for the decoder to refuse.
func checkUTF8(data []byte) error {
	if utf8.Valid(data) {
		return nil // nearly always: one pass, no decoding
	}
	pointer, what := invalidString(data)
	msg := what + " is not valid UTF-8"
	return &conveyor.Error{
		Code:    conveyor.EINVALID,
		Message: "malformed JSON: a string at " + strconv.Quote(pointer) + " is not valid UTF-8",
		Details: []conveyor.Violation{{Pointer: pointer, Message: msg}},
	}
}

// invalidString walks the JSON in data to the first string that is not
// valid UTF-8 and returns its pointer, and whether it is a "key" or a
// "string" value. Malformed JSON ends the walk where it fails.
func invalidString(data []byte) (pointer, what string) {
	type level struct {
		object  bool
		key     string // object: the member being read
		wantKey bool   // object: the next string is a key
		index   int    // array: the element being read
	}
	var path []level
	here := func() string {
		var b strings.Builder
		for _, l := range path {
			b.WriteByte('/')
			if l.object {
				b.WriteString(escapePointer(l.key))
			} else {
				b.WriteString(strconv.Itoa(l.index))
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return "", "string" // not found: malformed past here
		}
		raw := data[before:dec.InputOffset()]
		var top *level
		if len(path) > 0 {
			top = &path[len(path)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			path = path[:len(path)-1]
			if len(path) > 0 && path[len(path)-1].object {
				path[len(path)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			top.key, _ = tok.(string)
			top.wantKey = false
			if !utf8.Valid(raw) {
				return here(), "key"
			}
			continue
		}
		if top != nil && !top.object {
			top.index++
		}
		switch tok {
		case json.Delim('{'):
			path = append(path, level{object: true, wantKey: true})
			continue
		case json.Delim('['):
			path = append(path, level{index: -1})
			continue
		}
		if _, ok := tok.(string); ok && !utf8.Valid(raw) {
			return here(), "string"
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// escapePointer escapes a reference token of a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// checkQueryUTF8 returns EINVALID when a parameter of the query string,
// name or value, is not valid UTF-8 once unescaped.
func checkQueryUTF8(q url.Values) error {
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return conveyor.Errorf(conveyor.EINVALID, "a query parameter's name is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return conveyor.Errorf(conveyor.EINVALID, "query parameter %s is not valid UTF-8", k)
			}
		}
	}
	return nil
}
