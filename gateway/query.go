package gateway

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/conveyor-run/conveyor"
)

// queryShape is what typing query-string inputs needs of an input schema:
// the JSON type of each top-level property, and of its items for arrays.
type queryShape map[string]struct{ typ, items string }

// newQueryShape reads the shape of an input schema; a schema it cannot read
// gives an empty shape, in which every value is a string.
func newQueryShape(schema json.RawMessage) queryShape {
	var s struct {
		Properties map[string]struct {
			Type  any `json:"type"`
			Items struct {
				Type any `json:"type"`
			} `json:"items"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	qs := make(queryShape, len(s.Properties))
	for name, p := range s.Properties {
		qs[name] = struct{ typ, items string }{typeOf(p.Type), typeOf(p.Items.Type)}
	}
	return qs
}

// input builds a JSON object input from a query string, typing each value
// by the property of the same name: integer and number values are JSON
// numbers (kept digit for digit, so large integers stay exact), boolean
// ones true or false, arrays take every value of a repeated parameter;
// anything else is a string. "timeout" is the call's own parameter, not an
// input.
func (qs queryShape) input(q url.Values) ([]byte, error) {
	in := make(map[string]json.RawMessage, len(q))
	for name, values := range q {
		if name == "timeout" || len(values) == 0 {
			continue
		}
		prop := qs[name]
		if prop.typ == "array" {
			items := make([]json.RawMessage, 0, len(values))
			for _, v := range values {
				raw, err := scalar(name, v, prop.items)
				if err != nil {
					return nil, err
				}
				items = append(items, raw)
			}
			in[name], _ = json.Marshal(items)
			continue
		}
		raw, err := scalar(name, values[0], prop.typ)
		if err != nil {
			return nil, err
		}
		in[name] = raw
	}
	return json.Marshal(in)
}

// typeOf returns the JSON Schema type named by t: a string, or the first
// non-null one of a list.
func typeOf(t any) string {
	switch t := t.(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

func scalar(name, v, typ string) (json.RawMessage, error) {
	switch typ {
	case "integer", "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil || !json.Valid([]byte(v)) {
			return nil, conveyor.Errorf(conveyor.EINVALID, "query parameter %s=%q: want a number", name, v)
		}
		return json.RawMessage(v), nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, conveyor.Errorf(conveyor.EINVALID, "query parameter %s=%q: want true or false", name, v)
		}
		return json.Marshal(b)
	}
	return json.Marshal(v)
}
