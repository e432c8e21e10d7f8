package conveyor

import (
	"encoding/base64"
	"errors"
	"sort"
	"strings"
)

// Requirements are the runner labels a job requires (a job's requires):
// only a runner whose labels include every pair may take it. The zero
// value requires nothing.
type Requirements map[string]string

// MaxRequirements is the most pairs a job may require: a runner pulls from
// the queue of every subset of its labels that jobs use, so the sets stay
// small.
const MaxRequirements = 8

// Validate returns an error (EINVALID-worthy) when r has too many pairs or
// an empty key, or a key or value holding '=' or ',' (the separators of
// the canonical form).
func (r Requirements) Validate() error {
	if len(r) > MaxRequirements {
		return errors.New("requires: at most 8 labels")
	}
	for k, v := range r {
		if k == "" {
			return errors.New("requires: empty label name")
		}
		if strings.ContainsAny(k, "=,") || strings.ContainsAny(v, "=,") {
			return errors.New("requires: label names and values may not hold '=' or ','")
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
