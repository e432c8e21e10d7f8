package schema

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// splitMin is the size from which a value is validated a part at a time
// (see validateSplit) rather than decoded whole: a decoded value takes
// several times its text (a 4.5 MB input became 33 MB of maps and
// slices), all of it live until the validation ends.
const splitMin = 64 << 10

// splitKeywords are the keywords validateSplit applies itself; a schema
// with any other is validated whole against the value it applies to.
// The annotations and identifiers among them constrain nothing.
var splitKeywords = map[string]bool{
	"DraftVersion": true, "Location": true, "ID": true, "Anchor": true,
	"DynamicAnchor": true, "RecursiveAnchor": true,
	"Types": true, "Required": true, "Properties": true, "AdditionalProperties": true,
	"Items": true, "Items2020": true,
	"Title": true, "Description": true, "Default": true, "Comment": true,
	"ReadOnly": true, "WriteOnly": true, "Examples": true, "Deprecated": true,
}

// splittable reports whether s constrains an object or array only by
// keywords validateSplit applies member by member: its type, properties,
// required, additionalProperties and one items schema for every element.
func splittable(s *jsonschema.Schema) bool {
	if s.Bool != nil {
		return false
	}
	if it, ok := s.Items.([]*jsonschema.Schema); ok && it != nil {
		return false // a tuple
	}
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && !splitKeywords[f.Name] && !v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// follow returns the schema a bare reference ({"$ref": …} and nothing
// else that constrains) stands for, through chains of them.
func follow(s *jsonschema.Schema) *jsonschema.Schema {
	for range 32 {
		if s.Ref == nil {
			return s
		}
		bare := *s
		bare.Ref = nil
		if !splittable(&bare) || bare.Types != nil || bare.Required != nil || bare.Properties != nil ||
			bare.AdditionalProperties != nil || bare.Items != nil || bare.Items2020 != nil {
			return s
		}
		s = s.Ref
	}
	return s
}

// validateSplit validates the JSON text raw, the value at loc, against s
// and appends what fails to errs. A value of splitMin bytes or more is
// validated a part at a time when s allows it: an object member by
// member against its property's schema, an array element by element
// against its items schema — each part decoded alone, so memory follows
// the largest part rather than the whole. A smaller value, or one whose
// schema has other keywords, is decoded and validated whole. raw must be
// valid JSON. It returns the errors of the decoding only.
func validateSplit(raw []byte, s *jsonschema.Schema, loc []string, errs *[]*jsonschema.ValidationError) error {
	s = follow(s)
	i := jsonscan.Space(raw, 0)
	if len(raw) < splitMin || i >= len(raw) || raw[i] != '{' && raw[i] != '[' || !splittable(s) {
		v, err := decode(raw)
		if err != nil {
			return err
		}
		if err := s.Validate(v); err != nil {
			verr, ok := err.(*jsonschema.ValidationError)
			if !ok {
				return err
			}
			*errs = append(*errs, at(loc, verr))
		}
		return nil
	}
	typ := "object"
	if raw[i] == '[' {
		typ = "array"
	}
	if s.Types != nil && !s.Types.IsEmpty() && !hasType(s.Types.ToStrings(), typ) {
		*errs = append(*errs, &jsonschema.ValidationError{InstanceLocation: loc, ErrorKind: &kind.Type{Got: typ, Want: s.Types.ToStrings()}})
		return nil
	}
	var err error
	if typ == "array" {
		items := s.Items2020
		if it, ok := s.Items.(*jsonschema.Schema); ok {
			items = it
		}
		if items == nil {
			return nil
		}
		jsonscan.Elements(raw, func(n int, v []byte) bool {
			err = validateSplit(v, items, append(loc[:len(loc):len(loc)], strconv.Itoa(n)), errs)
			return err == nil
		})
		return err
	}
	seen := map[string]bool{}
	var extra []string
	jsonscan.Members(raw, func(key string, v []byte) bool {
		seen[key] = true
		sub := s.Properties[key]
		if sub == nil {
			switch ap := s.AdditionalProperties.(type) {
			case bool:
				if !ap {
					extra = append(extra, key)
				}
			case *jsonschema.Schema:
				sub = ap
			}
		}
		if sub != nil {
			err = validateSplit(v, sub, append(loc[:len(loc):len(loc)], key), errs)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	var missing []string
	for _, name := range s.Required {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		*errs = append(*errs, &jsonschema.ValidationError{InstanceLocation: loc, ErrorKind: &kind.Required{Missing: missing}})
	}
	if len(extra) > 0 {
		*errs = append(*errs, &jsonschema.ValidationError{InstanceLocation: loc, ErrorKind: &kind.AdditionalProperties{Properties: extra}})
	}
	return nil
}

// at moves the errors of e, found validating a value alone, to the
// location loc of that value in the whole.
func at(loc []string, e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(loc) > 0 {
		e.InstanceLocation = append(loc[:len(loc):len(loc)], e.InstanceLocation...)
		for _, c := range e.Causes {
			at(loc, c)
		}
	}
	return e
}

func hasType(types []string, typ string) bool {
	for _, t := range types {
		if t == typ {
			return true
		}
	}
	return false
}

// validateLarge validates instance, of splitMin bytes or more, with
// validateSplit and returns what Validate returns.
func (s *Schema) validateLarge(instance json.RawMessage) error {
	var errs []*jsonschema.ValidationError
	if err := validateSplit(instance, s.compiled, nil, &errs); err != nil {
		return err
	}
	if len(errs) == 0 {
		return nil
	}
	root := &jsonschema.ValidationError{ErrorKind: &kind.Schema{Location: s.compiled.Location}, Causes: errs}
	return violationError("input does not match the schema of the algorithm", root)
}
