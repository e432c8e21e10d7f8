package conveyor

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Requirements are the runner labels a job requires (a job's requires):
// only a runner whose labels include every pair may take it. The zero
// value requires nothing.
type Requirements map[string]string

// MaxRequirements is the most pairs a job may require: a runner pulls from
// the queue of every subset of its labels that jobs use, so the sets stay
// small.
const MaxRequirements = 8

// MaxRequirementsLen bounds a requirement set's canonical form, which
// names a queue subject and a consumer.
const MaxRequirementsLen = 128

// Validate returns an error (EINVALID-worthy) when r has too many pairs,
// is too long, has an empty key, or a key or value holding '=' or ',' (the
// separators of the canonical form) or a control character.
func (r Requirements) Validate() error {
	if len(r) > MaxRequirements {
		return errors.New("requires: at most 8 labels")
	}
	if len(r.Canonical()) > MaxRequirementsLen {
		return errors.New("requires: at most 128 bytes as k=v,k=v")
	}
	for k, v := range r {
		if k == "" {
			return errors.New("requires: empty label name")
		}
		if strings.ContainsAny(k, "=,") || strings.ContainsAny(v, "=,") {
			return errors.New("requires: label names and values may not hold '=' or ','")
		}
		if strings.ContainsFunc(k+v, unicode.IsControl) {
			return errors.New("requires: label names and values may not hold control characters")
		}
	}
	return nil
}

// Canonical is r as "k=v,k=v", keys sorted: equal sets give equal strings.
// The empty set gives "".
func (r Requirements) Canonical() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(r[k])
	}
	return b.String()
}

// Token is r's canonical form encoded to be one NATS subject token and
// part of a consumer name: base64url without padding (letters, digits,
// '-' and '_'). The empty set gives "".
func (r Requirements) Token() string {
	c := r.Canonical()
	if c == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c))
}

// ParseRequirementsToken reads a Token back; it returns an error for a
// token that is not one.
func ParseRequirementsToken(tok string) (Requirements, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) == 0 {
		return nil, errors.New("requires: not a requirements token")
	}
	r := Requirements{}
	for _, pair := range strings.Split(string(raw), ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, errors.New("requires: not a requirements token")
		}
		r[k] = v
	}
	return r, nil
}

// MetBy reports whether labels include every pair of r.
func (r Requirements) MetBy(labels map[string]string) bool {
	for k, v := range r {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ParseRequirements reads the canonical form "k=v,k=v" (as a query
// parameter or a command-line flag gives it) and validates it; "" is the
// empty set.
func ParseRequirements(s string) (Requirements, error) {
	if s == "" {
		return nil, nil
	}
	r := Requirements{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("requires: %q is not label=value", pair)
		}
		if have, dup := r[k]; dup && have != v {
			return nil, fmt.Errorf("requires: label %q given twice", k)
		}
		r[k] = v
	}
	return r, r.Validate()
}
