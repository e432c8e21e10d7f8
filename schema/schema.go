// Package schema validates JSON values against JSON Schema documents: the
// input schemas algorithms announce, against which the gateway checks every
// submitted input before it queues a job.
//
// It wraps github.com/santhosh-tekuri/jsonschema/v6 with Conveyor's rules:
//
//   - A schema without "$schema" is read as draft 2020-12; drafts 4, 6, 7
//     and 2019-09 are understood when a schema names them.
//   - Schemas are self-contained. References inside the document ("#/$defs/x")
//     work; a reference to any other document (a file, a URL) is refused,
//     so compiling a schema never touches the network or the file system.
//   - "format" is asserted: an input whose "date-time" or "email" string is
//     malformed is rejected at the gateway rather than failing its job later.
//     Unknown formats are ignored.
//   - Numbers are decoded as json.Number, so integers beyond 2^53 keep every
//     digit while they are checked.
//   - Every failure is a *conveyor.Error with code EINVALID; a schema
//     violation lists one conveyor.Violation per leaf failure, each with the
//     RFC 6901 JSON pointer of the offending value.
//
// A compiled *Schema is safe for concurrent use; callers compile a schema
// once and keep it (the gateway does, per registered algorithm).
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/conveyor-run/conveyor"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// location is the URL a compiled document is known by. A relative reference
// in the document resolves against it, reaches refuseLoader and fails.
const location = "https://schema.conveyor.invalid/root.json"

// Schema is a compiled JSON Schema. It is safe for concurrent use.
type Schema struct {
	raw      json.RawMessage
	compiled *jsonschema.Schema
}

// Compile compiles the JSON Schema document raw. A nil or blank raw means
// conveyor.AnyObjectSchema, the schema of an algorithm that declares none.
//
// It returns an EINVALID *conveyor.Error when raw is not JSON, is not a valid
// JSON Schema (Details then lists each problem, its pointer into the schema
// document), or refers to another document.
func Compile(raw json.RawMessage) (*Schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = conveyor.AnyObjectSchema
	}
	doc, err := decode(raw)
	if err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "invalid schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(location, doc); err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "invalid schema: %w", err)
	}
	compiled, err := c.Compile(location)
	if err != nil {
		return nil, compileError(err)
	}
	return &Schema{raw: bytes.Clone(raw), compiled: compiled}, nil
}

// Raw returns the schema document s was compiled from. The caller must not
// modify it.
func (s *Schema) Raw() json.RawMessage { return s.raw }

// Validate checks the JSON value instance against s and returns nil when it
// conforms.
//
// It returns an EINVALID *conveyor.Error with the message "malformed JSON: …"
// when instance is not one JSON value, and otherwise, when instance violates
// the schema, one whose message starts "input does not match the schema of
// the algorithm" and whose Details hold one Violation per leaf failure,
// sorted by pointer. A Violation's Pointer is the RFC 6901 JSON pointer of
// the offending value: "" for the whole input, "/items/2/x" for a nested
// one; a missing required property is reported at the object that lacks it.
func (s *Schema) Validate(instance json.RawMessage) error {
	if len(bytes.TrimSpace(instance)) == 0 {
		return conveyor.Errorf(conveyor.EINVALID, "malformed JSON: empty input")
	}
	if len(instance) >= splitMin && json.Valid(instance) {
		if err := s.validateLarge(instance); err == nil || conveyor.ErrorCode(err) == conveyor.EINVALID {
			return err
		}
		// A failure to decode a part (valid JSON: none expected) is
		// reported as the whole's would be.
	}
	return s.validateWhole(instance)
}

// validateWhole is Validate by decoding instance whole.
func (s *Schema) validateWhole(instance json.RawMessage) error {
	v, err := decode(instance)
	if err != nil {
		return conveyor.Errorf(conveyor.EINVALID, "%w", err)
	}
	err = s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return conveyor.Errorf(conveyor.EINVALID, "input cannot be validated: %w", err)
	}
	return violationError("input does not match the schema of the algorithm", verr)
}

// decode reads exactly one JSON value with numbers as json.Number. Its
// errors read "malformed JSON: …".
func decode(raw []byte) (any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err == nil {
		return v, nil
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return nil, fmt.Errorf("malformed JSON at byte %d: %w", syn.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, fmt.Errorf("malformed JSON: unexpected end of input")
	}
	return nil, fmt.Errorf("malformed JSON: %w", err)
}

// compileError turns an error of the compiler into an EINVALID error. A
// schema that fails its metaschema gets one Violation per problem.
func compileError(err error) error {
	var sve *jsonschema.SchemaValidationError
	var verr *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &verr) {
		e := violationError("invalid schema", verr)
		e.Err = err
		return e
	}
	var lerr *jsonschema.LoadURLError
	if errors.As(err, &lerr) {
		return &conveyor.Error{
			Code:    conveyor.EINVALID,
			Message: fmt.Sprintf("invalid schema: %v", lerr.Err),
			Err:     err,
		}
	}
	return conveyor.Errorf(conveyor.EINVALID, "invalid schema: %w", err)
}

// refuseLoader loads no document: schemas must be self-contained.
// Metaschemas of the supported drafts are built into the compiler and never
// reach it.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("reference to %s: schemas must be self-contained; only references within the document (\"#/$defs/…\") are allowed", url)
}

var _ jsonschema.URLLoader = refuseLoader{}
