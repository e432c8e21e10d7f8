package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// violationError returns an EINVALID *conveyor.Error whose Details are the
// leaf failures of verr and whose message is summary followed by the first
// of them.
func violationError(summary string, verr *jsonschema.ValidationError) *conveyor.Error {
	vs := violations(verr)
	msg := summary
	if len(vs) > 0 {
		msg += ": " + describe(vs[0])
		if len(vs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(vs)-1)
		}
	}
	return &conveyor.Error{Code: conveyor.EINVALID, Message: msg, Details: vs, Err: verr}
}

// describe renders v for a one-line message.
func describe(v conveyor.Violation) string {
	if v.Pointer == "" {
		return v.Message
	}
	return "at " + v.Pointer + ": " + v.Message
}

// violations flattens the tree of a validation error into its leaf failures,
// sorted by pointer (array indexes in numeric order) then message.
//
// The wrappers the validator adds ("validation failed", "$ref", "allOf")
// are dropped in favour of what they contain; a "required" or
// "additionalProperties" failure naming several properties is one Violation
// per property. A property that is not allowed is pointed at itself
// (/bogus); a missing one at the object that lacks it.
//
// A failed "anyOf" or "oneOf" whose alternatives all but one refuse the
// value's type (Optional[Point] given an object: the null alternative
// refuses any object) reports that one alternative's own violations, as
// if it were the only schema. Otherwise it is one Violation at the value
// it concerns, its message listing why each alternative failed: reporting
// each alternative's failure separately would tell the user to satisfy all
// of them.
func violations(verr *jsonschema.ValidationError) []conveyor.Violation {
	var vs []conveyor.Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			if len(e.Causes) > 0 {
				if fit := fitting(e); fit != nil {
					walk(fit)
				} else {
					vs = append(vs, alternatives(e))
				}
				return
			}
		}
		if len(e.Causes) == 0 {
			at := pointer(e.InstanceLocation)
			for _, k := range split(e.ErrorKind) {
				p := at
				if ap, ok := k.(*kind.AdditionalProperties); ok && len(ap.Properties) == 1 {
					p += pointer(ap.Properties)
				}
				vs = append(vs, conveyor.Violation{Pointer: p, Message: message(k)})
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	slices.SortFunc(vs, func(a, b conveyor.Violation) int {
		if c := comparePointers(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.CompactFunc(vs, func(a, b conveyor.Violation) bool { return a == b })
}

// fitting returns the one alternative of a failed anyOf or oneOf e that
// takes the value's type, when every other alternative failed only on the
// type of the value itself; else nil.
func fitting(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	at := pointer(e.InstanceLocation)
	var fit *jsonschema.ValidationError
	for _, c := range e.Causes {
		if typeMismatch(c, at) {
			continue
		}
		if fit != nil {
			return nil
		}
		fit = c
	}
	return fit
}

// typeMismatch reports whether e failed only because the value at the
// pointer at has a type the schema does not take.
func typeMismatch(e *jsonschema.ValidationError, at string) bool {
	if len(e.Causes) == 0 {
		_, ok := e.ErrorKind.(*kind.Type)
		return ok && pointer(e.InstanceLocation) == at
	}
	for _, c := range e.Causes {
		if !typeMismatch(c, at) {
			return false
		}
	}
	return true
}

// alternatives summarises a failed anyOf or oneOf as one Violation.
func alternatives(e *jsonschema.ValidationError) conveyor.Violation {
	at := pointer(e.InstanceLocation)
	var why []string
	for _, c := range e.Causes {
		for _, v := range violations(c) {
			if v.Pointer != at {
				v.Message = "at " + v.Pointer + ": " + v.Message
			}
			why = append(why, v.Message)
		}
	}
	return conveyor.Violation{
		Pointer: at,
		Message: message(e.ErrorKind) + ": " + strings.Join(why, "; "),
	}
}

// pointer returns the RFC 6901 JSON pointer of the reference tokens: "" for
// none (the whole document), else each token prefixed by "/" with "~"
// escaped as "~0" and "/" as "~1".
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		if strings.ContainsAny(t, "~/") {
			t = escaper.Replace(t)
		}
		b.WriteString(t)
	}
	return b.String()
}

var escaper = strings.NewReplacer("~", "~0", "/", "~1")

// comparePointers orders JSON pointers token by token, numeric tokens (array
// indexes) by value, so /items/2 comes before /items/10.
func comparePointers(a, b string) int {
	for a != "" && b != "" {
		var ta, tb string
		ta, a = nextToken(a)
		tb, b = nextToken(b)
		if ta == tb {
			continue
		}
		na, errA := strconv.Atoi(ta)
		nb, errB := strconv.Atoi(tb)
		if errA == nil && errB == nil {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(ta, tb)
	}
	return cmp.Compare(len(a), len(b))
}

// nextToken splits the first reference token off a non-empty pointer.
func nextToken(p string) (token, rest string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}
