package schema

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-run/conveyor"
)

const primeSchema = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"properties": {"n": {"type": "integer", "minimum": 0}},
	"required": ["n"],
	"additionalProperties": false
}`

const nestedSchema = `{
	"type": "object",
	"properties": {
		"name":  {"type": "string", "minLength": 1},
		"items": {"type": "array", "items": {
			"type": "object",
			"properties": {"x": {"type": "number"}},
			"required": ["x"]
		}}
	},
	"required": ["name", "items"]
}`

// optionalPoint is the schema the Python SDK derives for a parameter
// p: Optional[Point], Point a dataclass with x: int and y: int = 0.
const optionalPoint = `{
	"type": "object",
	"properties": {"p": {"anyOf": [
		{"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}},
		 "required": ["x"], "additionalProperties": false},
		{"type": "null"}
	], "default": null}}
}`

type v = conveyor.Violation

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		schema   string
		input    string
		want     []v    // the violations; nil means the input is valid
		wantText string // a substring of the error message
	}{
		{name: "valid", schema: primeSchema, input: `{"n":7}`},
		{name: "zero", schema: primeSchema, input: `{"n":0}`},
		{name: "big integer", schema: primeSchema, input: `{"n":32416190071}`},
		{
			name: "required", schema: primeSchema, input: `{}`,
			want:     []v{{Pointer: "", Message: `missing property "n"`}},
			wantText: `input does not match the schema of the algorithm: missing property "n"`,
		},
		{
			name: "type", schema: primeSchema, input: `{"n":"seven"}`,
			want: []v{{Pointer: "/n", Message: "got string, want integer"}},
		},
		{
			name: "integer, not a fraction", schema: primeSchema, input: `{"n":7.5}`,
			want: []v{{Pointer: "/n", Message: "got number, want integer"}},
		},
		{
			name: "minimum", schema: primeSchema, input: `{"n":-1}`,
			want:     []v{{Pointer: "/n", Message: "minimum: got -1, want 0"}},
			wantText: "at /n: minimum: got -1, want 0",
		},
		{
			name: "additionalProperties false", schema: primeSchema, input: `{"n":1,"m":2,"k":3}`,
			want: []v{
				{Pointer: "/k", Message: `property "k" not allowed`},
				{Pointer: "/m", Message: `property "m" not allowed`},
			},
		},
		{
			name: "a property not allowed is pointed at", schema: primeSchema, input: `{"n":7,"bogus":1}`,
			want:     []v{{Pointer: "/bogus", Message: `property "bogus" not allowed`}},
			wantText: `at /bogus: property "bogus" not allowed`,
		},
		{
			name:   "Optional[dataclass] reports the object's own violations",
			schema: optionalPoint, input: `{"p":{"x":"one","z":2}}`,
			want: []v{
				{Pointer: "/p/x", Message: "got string, want integer"},
				{Pointer: "/p/z", Message: `property "z" not allowed`},
			},
		},
		{
			name:   "Optional[dataclass] missing a field",
			schema: optionalPoint, input: `{"p":{}}`,
			want: []v{{Pointer: "/p", Message: `missing property "x"`}},
		},
		{
			name:   "Optional[dataclass] of another type lists the alternatives",
			schema: optionalPoint, input: `{"p":3}`,
			want: []v{{Pointer: "/p", Message: "'anyOf' failed: got number, want object; got number, want null"}},
		},
		{
			name: "nested pointer", schema: nestedSchema,
			input: `{"name":"a","items":[{"x":1},{"x":2},{"x":"three"}]}`,
			want:  []v{{Pointer: "/items/2/x", Message: "got string, want number"}},
		},
		{
			name: "several violations, sorted by pointer", schema: nestedSchema,
			input: `{"name":"","items":[{"x":1},{}, {"x":1}, {"x":1}, {"x":1}, {"x":1}, {"x":1}, {"x":1}, {"x":1}, {"x":1}, {"x":null}]}`,
			want: []v{
				{Pointer: "/items/1", Message: `missing property "x"`},
				{Pointer: "/items/10/x", Message: "got null, want number"},
				{Pointer: "/name", Message: "minLength: got 0, want 1"},
			},
			wantText: `at /items/1: missing property "x" (and 2 more)`,
		},
		{
			name: "each missing property", schema: nestedSchema, input: `{}`,
			want: []v{
				{Pointer: "", Message: `missing property "items"`},
				{Pointer: "", Message: `missing property "name"`},
			},
		},
		{
			name:   "integers keep their precision",
			schema: `{"type":"integer","maximum":9007199254740992}`, input: `9007199254740993`,
			want: []v{{Pointer: "", Message: "maximum: got 9007199254740993, want 9007199254740992"}},
		},
		{
			name:   "pointer escapes ~ and /",
			schema: `{"properties":{"a/b~c":{"type":"string"}}}`, input: `{"a/b~c":1}`,
			want: []v{{Pointer: "/a~1b~0c", Message: "got number, want string"}},
		},
		{
			name:   "anyOf is one violation",
			schema: `{"properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}`, input: `{"id":true}`,
			want: []v{{Pointer: "/id", Message: "'anyOf' failed: got boolean, want string; got boolean, want integer"}},
		},
		{
			name:   "$ref within the document",
			schema: `{"$defs":{"pos":{"type":"integer","exclusiveMinimum":0}},"properties":{"k":{"$ref":"#/$defs/pos"}}}`,
			input:  `{"k":0}`,
			want:   []v{{Pointer: "/k", Message: "exclusiveMinimum: got 0, want 0"}},
		},
		{
			name:   "enum",
			schema: `{"properties":{"mode":{"enum":["fast","slow"]}}}`, input: `{"mode":"medium"}`,
			want: []v{{Pointer: "/mode", Message: `value must be one of "fast", "slow"`}},
		},
		{
			name:   "format is asserted",
			schema: `{"properties":{"at":{"type":"string","format":"date-time"}}}`, input: `{"at":"yesterday"}`,
			want: []v{{Pointer: "/at", Message: `"yesterday" is not a valid date-time: less than 20 characters long`}},
		},
		{
			name:   "draft-07 when the schema says so",
			schema: `{"$schema":"http://json-schema.org/draft-07/schema#","items":[{"type":"string"}],"additionalItems":false}`,
			input:  `["a","b","c"]`,
			want:   []v{{Pointer: "", Message: "the last 2 items are not allowed"}},
		},
		{
			name: "no schema means any object", schema: "", input: `[1]`,
			want: []v{{Pointer: "", Message: "got array, want object"}},
		},
		{name: "no schema accepts an object", schema: "", input: `{"anything":[1,2]}`},
		{name: "malformed JSON", schema: primeSchema, input: `{"n":}`, wantText: "malformed JSON at byte 6: invalid character '}'"},
		{name: "truncated JSON", schema: primeSchema, input: `{"n":1`, wantText: "malformed JSON: unexpected end of input"},
		{name: "trailing data", schema: primeSchema, input: `{"n":1} {}`, wantText: "malformed JSON: invalid character after top-level value"},
		{name: "empty input", schema: primeSchema, input: ` `, wantText: "malformed JSON: empty input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			err = s.Validate(json.RawMessage(tt.input))
			if tt.want == nil && tt.wantText == "" {
				if err != nil {
					t.Fatalf("Validate(%s) = %v, want nil", tt.input, err)
				}
				return
			}
			e := asError(t, err)
			if !slices.Equal(e.Details, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", e.Details, tt.want)
			}
			if !strings.Contains(e.Message, tt.wantText) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantText)
			}
		})
	}
}

func TestCompileInvalid(t *testing.T) {
	tests := []struct {
		name     string
		schema   string
		wantText string
		want     []v
	}{
		{
			name: "not JSON", schema: `{"type":`,
			wantText: "invalid schema: malformed JSON: unexpected end of input",
		},
		{
			name: "bad keyword values", schema: `{"type":"object","properties":{"n":{"minimum":"zero"}}}`,
			wantText: "invalid schema: at /properties/n/minimum: got string, want number",
			want:     []v{{Pointer: "/properties/n/minimum", Message: "got string, want number"}},
		},
		{
			name: "bad regexp", schema: `{"pattern":"("}`,
			wantText: "invalid schema",
		},
		{
			name: "relative $ref", schema: `{"properties":{"a":{"$ref":"other.json"}}}`,
			wantText: "reference to https://schema.conveyor.invalid/other.json: schemas must be self-contained",
		},
		{
			name: "remote $ref", schema: `{"$ref":"https://example.com/s.json"}`,
			wantText: "reference to https://example.com/s.json: schemas must be self-contained",
		},
		{
			name: "file $ref", schema: `{"$ref":"file:///etc/passwd"}`,
			wantText: "reference to file:///etc/passwd: schemas must be self-contained",
		},
		{
			name: "unknown metaschema", schema: `{"$schema":"https://example.com/my-meta"}`,
			wantText: "schemas must be self-contained",
		},
		{
			name: "missing local $ref", schema: `{"$ref":"#/$defs/nope"}`,
			wantText: "invalid schema",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(json.RawMessage(tt.schema))
			e := asError(t, err)
			if !strings.Contains(e.Message, tt.wantText) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantText)
			}
			if tt.want != nil && !slices.Equal(e.Details, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", e.Details, tt.want)
			}
		})
	}
}

// asError checks that err is an EINVALID *conveyor.Error and returns it.
func asError(t *testing.T, err error) *conveyor.Error {
	t.Helper()
	var e *conveyor.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *conveyor.Error", err, err)
	}
	if e.Code != conveyor.EINVALID {
		t.Fatalf("code %q, want %q (%v)", e.Code, conveyor.EINVALID, err)
	}
	return e
}

func TestValidateConcurrently(t *testing.T) {
	s, err := Compile(json.RawMessage(nestedSchema))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				good := s.Validate(json.RawMessage(`{"name":"a","items":[{"x":1}]}`))
				bad := s.Validate(json.RawMessage(`{"name":"a","items":[{"x":1},{}]}`))
				if good != nil || bad == nil {
					t.Errorf("goroutine %d: valid input: %v; invalid input: %v", i, good, bad)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPointer(t *testing.T) {
	tests := []struct {
		tokens []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, "/"},
		{[]string{"a", "0", "b"}, "/a/0/b"},
		{[]string{"a/b", "m~n"}, "/a~1b/m~0n"},
	}
	for _, tt := range tests {
		if got := pointer(tt.tokens); got != tt.want {
			t.Errorf("pointer(%q) = %q, want %q", tt.tokens, got, tt.want)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	s, err := Compile(json.RawMessage(primeSchema))
	if err != nil {
		b.Fatal(err)
	}
	valid := json.RawMessage(`{"n":32416190071}`)
	invalid := json.RawMessage(`{"n":-1,"extra":true}`)
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Validate(valid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Validate(invalid); err == nil {
				b.Fatal("want an error")
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(json.RawMessage(nestedSchema)); err != nil {
			b.Fatal(err)
		}
	}
}
