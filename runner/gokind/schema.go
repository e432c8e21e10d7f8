package gokind

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/conveyor-run/conveyor/schema"
	"github.com/invopop/jsonschema"
)

// reflectSchema derives the JSON Schema (draft 2020-12) of values of type t
// as encoding/json writes them, and checks that the schema package compiles
// it, so that whatever Register accepts the gateway can validate against.
//
// The schema is self-contained and, unless t contains itself, fully
// inline: no $id, no $ref, no $defs. A recursive type keeps its structs in
// $defs, referred to by "#/$defs/Name".
func reflectSchema(t reflect.Type) (raw json.RawMessage, err error) {
	defer func() {
		// The reflector panics on types JSON cannot represent (chan, func).
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot derive a JSON Schema: %v", r)
		}
	}()
	rec := recursive(t)
	r := &jsonschema.Reflector{
		Anonymous:      true,
		DoNotReference: !rec,
		// ExpandedStruct puts the root struct in the root schema instead of
		// behind a $ref; a recursive root must stay in $defs, where its own
		// references point.
		ExpandedStruct: !rec,
		Mapper:         mapBuiltin,
	}
	raw, err = json.Marshal(r.ReflectFromType(t))
	if err != nil {
		return nil, err
	}
	if _, err := schema.Compile(raw); err != nil {
		return nil, fmt.Errorf("derived schema %s does not compile: %w", raw, err)
	}
	return raw, nil
}

// mapBuiltin gives the unsigned integer types a minimum of 0. It leaves
// named types alone: they may describe themselves with a JSONSchema method.
func mapBuiltin(t reflect.Type) *jsonschema.Schema {
	if t.PkgPath() != "" {
		return nil
	}
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &jsonschema.Schema{Type: "integer", Minimum: "0"}
	}
	return nil
}

// recursive reports whether a struct reachable from t contains itself
// through the fields encoding/json sees. The reflector cannot inline such a
// type: it would recurse forever.
func recursive(t reflect.Type) bool {
	onPath := map[reflect.Type]bool{}
	done := map[reflect.Type]bool{}
	var visit func(t reflect.Type) bool
	visit = func(t reflect.Type) bool {
		for {
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
				continue
			}
			break
		}
		if t.Kind() != reflect.Struct || done[t] {
			return false
		}
		if onPath[t] {
			return true
		}
		onPath[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if (!f.IsExported() && !f.Anonymous) || f.Tag.Get("json") == "-" {
				continue
			}
			if visit(f.Type) {
				return true
			}
		}
		delete(onPath, t)
		done[t] = true
		return false
	}
	return visit(t)
}
