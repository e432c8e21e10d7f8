package gokind

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

type shape struct {
	Name   string            `json:"name" jsonschema:"minLength=1,description=what to call it"`
	Points []point           `json:"points" jsonschema:"minItems=3"`
	Origin *point            `json:"origin,omitempty"`
	Kind   string            `json:"kind,omitempty" jsonschema:"enum=polygon,enum=polyline"`
	Tags   map[string]string `json:"tags,omitempty"`
	Count  uint8             `json:"count,omitempty"`
	At     time.Time         `json:"at,omitzero"`
	Hidden string            `json:"-"`
	secret string
}

type tree struct {
	Label    string `json:"label"`
	Children []tree `json:"children,omitempty"`
}

type withChan struct {
	C chan int `json:"c"`
}

func TestReflectSchema(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{
			name: "struct, inline, tags",
			typ:  reflect.TypeFor[shape](),
			want: `{"$schema":"https://json-schema.org/draft/2020-12/schema",` +
				`"properties":{` +
				`"name":{"type":"string","minLength":1,"description":"what to call it"},` +
				`"points":{"items":{"properties":{"x":{"type":"number"},"y":{"type":"number"}},"additionalProperties":false,"type":"object","required":["x","y"]},"type":"array","minItems":3},` +
				`"origin":{"properties":{"x":{"type":"number"},"y":{"type":"number"}},"additionalProperties":false,"type":"object","required":["x","y"]},` +
				`"kind":{"type":"string","enum":["polygon","polyline"]},` +
				`"tags":{"additionalProperties":{"type":"string"},"type":"object"},` +
				`"count":{"type":"integer","minimum":0},` +
				`"at":{"type":"string","format":"date-time"}},` +
				`"additionalProperties":false,"type":"object","required":["name","points"]}`,
		},
		{
			name: "pointer to struct",
			typ:  reflect.TypeFor[*point](),
			want: `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"x":{"type":"number"},"y":{"type":"number"}},"additionalProperties":false,"type":"object","required":["x","y"]}`,
		},
		{
			name: "recursive type keeps $defs",
			typ:  reflect.TypeFor[tree](),
			want: `{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/tree",` +
				`"$defs":{"tree":{"properties":{"label":{"type":"string"},"children":{"items":{"$ref":"#/$defs/tree"},"type":"array"}},"additionalProperties":false,"type":"object","required":["label"]}}}`,
		},
		{
			name: "not a struct",
			typ:  reflect.TypeFor[[]int](),
			want: `{"$schema":"https://json-schema.org/draft/2020-12/schema","items":{"type":"integer"},"type":"array"}`,
		},
		{
			name: "anything",
			typ:  reflect.TypeFor[json.RawMessage](),
			want: `{"$schema":"https://json-schema.org/draft/2020-12/schema"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reflectSchema(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("schema\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestReflectSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"chan field", reflect.TypeFor[withChan](), "cannot derive a JSON Schema: unsupported type chan int"},
		{"bad pattern", reflect.TypeFor[struct {
			S string `json:"s" jsonschema:"pattern=("`
		}](), "does not compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reflectSchema(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestInputSchemaMustBeAnObject(t *testing.T) {
	if _, err := inputSchema(reflect.TypeFor[int]()); err == nil || !strings.Contains(err.Error(), "use a struct") {
		t.Errorf("inputSchema(int): %v, want an error saying to use a struct", err)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[point](), reflect.TypeFor[map[string]int](), reflect.TypeFor[json.RawMessage]()} {
		if _, err := inputSchema(typ); err != nil {
			t.Errorf("inputSchema(%v): %v", typ, err)
		}
	}
}

func TestRecursive(t *testing.T) {
	type a struct {
		P *point `json:"p"`
		Q point  `json:"q"` // the same type twice is not recursion
	}
	type list struct {
		Next *list `json:"next"`
	}
	type hidden struct {
		Next *hidden `json:"-"`
	}
	tests := []struct {
		typ  reflect.Type
		want bool
	}{
		{reflect.TypeFor[point](), false},
		{reflect.TypeFor[a](), false},
		{reflect.TypeFor[shape](), false},
		{reflect.TypeFor[tree](), true},
		{reflect.TypeFor[list](), true},
		{reflect.TypeFor[map[string][]*list](), true},
		{reflect.TypeFor[hidden](), false},
	}
	for _, tt := range tests {
		if got := recursive(tt.typ); got != tt.want {
			t.Errorf("recursive(%v) = %v, want %v", tt.typ, got, tt.want)
		}
	}
}
