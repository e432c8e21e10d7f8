package conveyor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// SummaryKeys are what an index files a job summary under, read from the
// record along with the summary.
type SummaryKeys struct {
	ID, Algorithm, Tenant string
	Status                Status
	// Labels is the summary's labels object; nil: none. It may share
	// the buffer AppendSummary appended to.
	Labels json.RawMessage
}

// AppendSummary appends to dst the JSON of the summary of a job record —
// the same text as json.Marshal of what Summarize returns — and returns
// the extended buffer with the keys the summary is filed under, or an
// error if record is not a job record.
//
// A job index runs it on every change of every job, so a record as
// Conveyor writes them is summarized without being decoded: its members
// are sliced out of the text, the summary's copied (a record and a
// summary come from the same encoder, so a value re-encoded reads the
// same) and the others skipped; only the times are parsed. A record that
// path does not take as it is — a key twice or in capitals, null, a
// string or number another encoder wrote, a value of another kind — is
// decoded with Summarize instead: the two agree on every input, which
// FuzzAppendSummary checks.
func AppendSummary(dst, record []byte) ([]byte, SummaryKeys, error) {
	if out, k, ok := appendSummaryFast(dst, record); ok {
		return out, k, nil
	}
	s, err := Summarize(record)
	if err != nil {
		return dst, SummaryKeys{}, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return dst, SummaryKeys{}, err
	}
	k := SummaryKeys{ID: s.ID, Algorithm: s.Algorithm, Tenant: s.Tenant, Status: s.Status}
	if len(s.Labels) > 0 {
		k.Labels, _ = json.Marshal(s.Labels)
	}
	return append(dst, b...), k, nil
}

// The kinds of value the fast path copies.
const (
	kindString   = iota // a string, or a string type
	kindInt             // an int
	kindFloat           // a float64
	kindTime            // a time.Time
	kindDuration        // a Duration (computed, never copied)
	kindStrings         // a map of strings (labels, requirements)
	kindObject          // a struct: its members per its own fields
	kindSkipped         // a member Summarize drops
)

// field is a member of an object the fast path writes: a field of
// JobSummary or of a struct it holds, in the struct's order.
type field struct {
	name      string
	quoted    []byte // "name":
	kind      int
	omitempty bool
	members   []field // kindObject: its fields
}

// summaryFields are JobSummary's fields less input and output.
var summaryFields = fieldsOf(reflect.TypeFor[JobSummary](), map[string]bool{"input": true, "output": true})

// maxFields bounds the fields of an object the fast path writes, so that
// their values sit in an array on the stack.
const maxFields = 24

// fieldsOf returns the fields of struct t for the fast path; skipped
// names what Summarize drops (at any depth: a JobError's detail, a
// Stage's input and its reference).
func fieldsOf(t reflect.Type, skipped map[string]bool) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		fd := field{name: name, quoted: []byte(`"` + name + `":`), omitempty: strings.Contains(opts, "omitempty")}
		switch {
		case skipped[name] && t != reflect.TypeFor[JobSummary]():
			fd.kind = kindSkipped
		case skipped[name]:
			continue
		case ft == reflect.TypeFor[time.Time]():
			fd.kind = kindTime
		case ft == reflect.TypeFor[Duration]():
			fd.kind = kindDuration
		case ft.Kind() == reflect.String:
			fd.kind = kindString
		case ft.Kind() == reflect.Int:
			fd.kind = kindInt
		case ft.Kind() == reflect.Float64:
			fd.kind = kindFloat
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String && ft.Elem().Kind() == reflect.String:
			fd.kind = kindStrings
		case ft.Kind() == reflect.Struct:
			fd.kind, fd.members = kindObject, fieldsOf(ft, map[string]bool{"detail": true, "input": true, "input_ref": true})
		default:
			panic(fmt.Sprintf("conveyor: %s.%s: a kind of field AppendSummary does not know", t.Name(), f.Name))
		}
		fs = append(fs, fd)
	}
	if len(fs) > maxFields {
		panic("conveyor: " + t.Name() + " has more fields than maxFields")
	}
	return fs
}

// appendSummaryFast is AppendSummary's path for records as Conveyor
// writes them; ok is false for any other.
func appendSummaryFast(dst, rec []byte) (_ []byte, k SummaryKeys, ok bool) {
	var vals [maxFields][]byte
	if !members(rec, summaryFields, &vals) {
		return dst, k, false
	}
	for i, f := range summaryFields {
		v := vals[i]
		switch f.name {
		case "id":
			k.ID, ok = plain(v)
		case "algorithm":
			k.Algorithm, ok = plain(v)
		case "status":
			var s string
			s, ok = plain(v)
			k.Status = Status(s)
		case "tenant":
			k.Tenant, ok = plain(v)
		case "duration":
			ok = v == nil
		default:
			continue
		}
		if !ok {
			return dst, k, false
		}
	}
	if k.ID == "" {
		return dst, k, false
	}
	start := len(dst)
	dst = append(dst, '{')
	for i, f := range summaryFields {
		v := vals[i]
		if i == slotDuration {
			v = duration(k.Status, vals[slotStarted], vals[slotFinished])
		}
		var mark int
		if dst, mark, ok = appendField(dst, f, v, len(dst) > start+1); !ok {
			return dst[:start], k, false
		}
		if i == slotLabels && mark > 0 {
			k.Labels = dst[mark:len(dst):len(dst)]
		}
	}
	return append(dst, '}'), k, true
}

// members reads the members of object v that fields names into vals,
// by field index. It returns false when v is not an object, a key is
// there twice, or a key is one encoding/json could take for a field's
// name in other case.
func members(v []byte, fields []field, vals *[maxFields][]byte) bool {
	return jsonscan.RawMembers(v, func(quoted, value []byte) bool {
		if len(quoted) < 2 || len(value) == 0 {
			return false // cut short: not JSON
		}
		key := quoted[1 : len(quoted)-1]
		for _, c := range key {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
		for n := range fields {
			if fields[n].name == string(key) {
				if vals[n] != nil {
					return false
				}
				vals[n] = value
				break
			}
		}
		return true
	})
}

// appendField appends member f of value v (nil: absent) as encoding/json
// writes it, preceded by a comma if comma; mark is where the value starts.
// ok is false for a value the fast path does not take as it is.
func appendField(dst []byte, f field, v []byte, comma bool) (_ []byte, mark int, ok bool) {
	if f.kind == kindSkipped {
		return dst, 0, true
	}
	if string(v) == "null" {
		v = nil
	}
	if v == nil || f.omitempty && empty(f, v) {
		// Absent: left out when it may be, or not taken (the
		// decoded zero value would be written).
		return dst, 0, f.omitempty && (v == nil || f.kind == kindString || f.kind == kindStrings)
	}
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, f.quoted...)
	mark = len(dst)
	switch f.kind {
	case kindString, kindDuration:
		ok = canonicalString(v)
	case kindInt:
		ok = canonicalInt(v)
	case kindFloat:
		ok = canonicalFloat(v)
	case kindTime:
		ok = canonicalTime(v)
	case kindStrings:
		return appendStrings(dst, v, mark)
	case kindObject:
		var vals [maxFields][]byte
		if !members(v, f.members, &vals) {
			return dst, mark, false
		}
		dst = append(dst, '{')
		n := len(dst)
		for i, m := range f.members {
			if dst, _, ok = appendField(dst, m, vals[i], len(dst) > n); !ok {
				return dst, mark, false
			}
		}
		return append(dst, '}'), mark, true
	}
	return append(dst, v...), mark, ok
}

// empty reports whether v is a value omitempty leaves out: "" or {}.
func empty(f field, v []byte) bool {
	switch f.kind {
	case kindString:
		return string(v) == `""`
	case kindStrings:
		return jsonscan.Space(v, 1) < len(v) && v[0] == '{' && v[jsonscan.Space(v, 1)] == '}'
	}
	return false
}

// appendStrings appends the map of strings v, which must be written as
// encoding/json writes a map: keys in order, each once.
func appendStrings(dst, v []byte, mark int) ([]byte, int, bool) {
	dst = append(dst, '{')
	var last []byte
	ok := jsonscan.RawMembers(v, func(key, value []byte) bool {
		if !canonicalString(key) || !canonicalString(value) {
			return false
		}
		// Keys in order, each once, as the encoder sorts a map's.
		text := key[1 : len(key)-1]
		if bytes.IndexByte(text, '\\') >= 0 {
			var s string
			json.Unmarshal(key, &s)
			text = []byte(s)
		}
		if last != nil && bytes.Compare(text, last) <= 0 {
			return false
		}
		last = text
		if len(dst) > mark+1 {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, key...), ':'), value...)
		return true
	})
	return append(dst, '}'), mark, ok
}

// canonicalString reports whether v is a JSON string as encoding/json
// writes it: no escape but those it uses, valid UTF-8.
func canonicalString(v []byte) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&' {
			continue
		}
		// Rare: let the encoder say how it writes the string.
		var s string
		if json.Unmarshal(v, &s) != nil {
			return false
		}
		b, _ := json.Marshal(s)
		return bytes.Equal(b, v)
	}
	return true
}

// canonicalInt reports whether v is an int as encoding/json writes it.
func canonicalInt(v []byte) bool {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || d[0] == '0' && (len(d) > 1 || len(v) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// plain returns the string v holds when it has no escapes.
func plain(v []byte) (string, bool) {
	if v == nil {
		return "", true
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// duration returns the JSON of a final job's duration (nil: none), as
// Summarize computes it from the record's started_at and finished_at.
func duration(status Status, started, finished []byte) []byte {
	if !status.Terminal() || started == nil || finished == nil || string(started) == "null" || string(finished) == "null" {
		return nil
	}
	var from, to time.Time
	if from.UnmarshalJSON(started) != nil || to.UnmarshalJSON(finished) != nil {
		return []byte(`?`) // not a time: not taken
	}
	b, _ := runTime(from, to).MarshalJSON()
	return b
}

// canonicalTime reports whether v is a time as time.Time's MarshalJSON
// writes it.
func canonicalTime(v []byte) bool {
	var t time.Time
	if len(v) < 2 || v[0] != '"' || t.UnmarshalJSON(v) != nil || t.Year() < 0 || t.Year() > 9999 {
		return false
	}
	var buf [64]byte
	return bytes.Equal(t.AppendFormat(buf[:0], time.RFC3339Nano), v[1:len(v)-1])
}

// canonicalFloat reports whether v is a float64 as encoding/json writes
// one in the range it writes without an exponent.
func canonicalFloat(v []byte) bool {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != 0 && (math.Abs(f) < 1e-6 || math.Abs(f) >= 1e21) {
		return false
	}
	var buf [32]byte
	return bytes.Equal(strconv.AppendFloat(buf[:0], f, 'f', -1, 64), v)
}

// The slots of summaryFields the fast path reads.
var slotStarted, slotFinished, slotDuration, slotLabels = indexOf("started_at"), indexOf("finished_at"), indexOf("duration"), indexOf("labels")

func indexOf(name string) int {
	for i, f := range summaryFields {
		if f.name == name {
			return i
		}
	}
	return -1
}
