package conveyor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileKey is the key of a file reference in a job's input:
// {"$file": "<id>"} stands for the uploaded file with that id.
const FileKey = "$file"

// FileInfo is an uploaded file as POST /v1/files answers it.
type FileInfo struct {
	ID          string    `json:"id"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// File is a reference to an uploaded file, as a job's input holds it:
// {"$file": "<id>"}. Before an attempt runs, the runner of an exec,
// worker or go algorithm copies the file to a local read-only file and
// adds its Path, Size, SHA256 and ContentType to the reference it gives
// the handler; the copy is removed after the attempt.
//
// A Go handler takes one as a field of its input struct:
//
//	type In struct{ Data conveyor.File `json:"data"` }
type File struct {
	ID string `json:"$file"`
	// Name is set on the reference to an artifact (see ArtifactKey): the
	// name the job that wrote it gave it.
	Name        string `json:"name,omitempty"`
	Path        string `json:"path,omitempty"`
	Size        int64  `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	ContentType string `json:"content_type,omitempty"`
}

// Open opens the local copy of the file for reading. It returns an error
// when the reference has no Path (it was not materialized by a runner) or
// the file cannot be opened.
func (f File) Open() (*os.File, error) {
	if f.Path == "" {
		return nil, errors.New("conveyor: file " + f.ID + " has no local path (not materialized by the runner)")
	}
	return os.Open(f.Path)
}

// FileRef is a file reference found in a JSON value: the file's id and the
// JSON pointer (RFC 6901) of the reference object.
type FileRef struct {
	Pointer string
	ID      string
}

// FileRefs returns the file references in the JSON value data (keys
// of an object in sorted order): every object with a "$file" key. It returns an
// EINVALID error, with the pointer, for a "$file" that is not a string,
// and one for data that is not JSON.
func FileRefs(data []byte) ([]FileRef, error) {
	// Most inputs hold none: the key, written plainly or with escapes,
	// is not there.
	if !bytes.Contains(data, []byte(`"$file"`)) && !bytes.Contains(data, []byte(`\u`)) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(EINVALID, "malformed JSON: %v", err)
	}
	var refs []FileRef
	var bad *Error
	walkRefs(v, "", func(ptr string, id any) bool {
		s, ok := id.(string)
		if !ok || s == "" {
			msg := `"$file" must be the id of an uploaded file (a string)`
			bad = &Error{Code: EINVALID, Message: ptr + ": " + msg, Details: []Violation{{Pointer: ptr, Message: msg}}}
			return false
		}
		refs = append(refs, FileRef{Pointer: ptr, ID: s})
		return true
	})
	if bad != nil {
		return nil, bad
	}
	return refs, nil
}

// walkRefs calls found for each object with a "$file" key in v, with its
// pointer, until found returns false; it reports whether to go on.
func walkRefs(v any, ptr string, found func(ptr string, id any) bool) bool {
	switch v := v.(type) {
	case map[string]any:
		if id, ok := v[FileKey]; ok {
			return found(ptr, id)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same pointer first whatever the map's order
		for _, k := range keys {
			if !walkRefs(v[k], ptr+"/"+escapePointer(k), found) {
				return false
			}
		}
	case []any:
		for i, e := range v {
			if !walkRefs(e, ptr+"/"+strconv.Itoa(i), found) {
				return false
			}
		}
	}
	return true
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// ReplaceFileRefs returns data with each file reference object replaced
// by what with returns for it (the reference as JSON, to be written in its
// place). Other values keep their content; the output is compact JSON.
func ReplaceFileRefs(data []byte, with func(ptr, id string) (json.RawMessage, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var ferr error
	v = replaceRefs(v, "", func(ptr string, id any) any {
		s, _ := id.(string)
		if ferr != nil {
			return nil
		}
		raw, err := with(ptr, s)
		if err != nil {
			ferr = err
			return nil
		}
		return raw
	})
	if ferr != nil {
		return nil, ferr
	}
	return encodeJSON(v)
}

// replaceRefs replaces, in v (decoded JSON), each object with the key
// FileKey by what with returns for its JSON pointer and the key's value.
func replaceRefs(v any, ptr string, with func(ptr string, id any) any) any {
	return replaceKeyed(v, FileKey, ptr, with)
}

// replaceKeyed replaces, in v (decoded JSON, changed in place), each
// object that has key by what with returns for its JSON pointer (below
// ptr) and the key's value.
func replaceKeyed(v any, key, ptr string, with func(ptr string, value any) any) any {
	switch t := v.(type) {
	case map[string]any:
		if value, ok := t[key]; ok {
			return with(ptr, value)
		}
		for k, e := range t {
			t[k] = replaceKeyed(e, key, ptr+"/"+escapePointer(k), with)
		}
	case []any:
		for i, e := range t {
			t[i] = replaceKeyed(e, key, ptr+"/"+strconv.Itoa(i), with)
		}
	}
	return v
}

// encodeJSON is v as JSON without HTML escaping and without json.Encoder's
// trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
