package gateway

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/conveyor-run/conveyor"
)

// queryInput builds a JSON object input from a query string, typing each
// value by the property of the same name in the input schema: integer and
// number values are JSON numbers (kept digit for digit, so large integers
// stay exact), boolean ones true or false, arrays take every value of a
// repeated parameter; anything else is a string. "timeout" is the call's
// own parameter, not an input.
func queryInput(schema json.RawMessage, q url.Values) ([]byte, error) {
	var s struct {
		Properties map[string]struct {
			Type  any `json:"type"`
			Items struct {
				Type any `json:"type"`
			} `json:"items"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s) // no usable schema: every value is a string
	in := make(map[string]json.RawMessage, len(q))
	for name, values := range q {
		if name == "timeout" || len(values) == 0 {
			continue
		}
		prop := s.Properties[name]
		if typeOf(prop.Type) == "array" {
			items := make([]json.RawMessage, 0, len(values))
			for _, v := range values {
				raw, err := scalar(name, v, typeOf(prop.Items.Type))
				if err != nil {
					return nil, err
				}
				items = append(items, raw)
			}
			in[name], _ = json.Marshal(items)
			continue
		}
		raw, err := scalar(name, values[0], typeOf(prop.Type))
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
