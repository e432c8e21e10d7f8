package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Each runner kind says which keys of an algorithm entry it takes beyond
// the common ones (RegisterKind, called as its package is initialized,
// through runner.RegisterKind); Validate refuses an entry that sets a key
// its kind does not take, naming the key, the entry and what the kind
// takes. So an exec entry with url: is an error, not a key silently
// ignored.

// CommonKeys are the keys of an algorithm entry every kind takes.
var CommonKeys = []string{"name", "kind", "description", "workers", "timeout", "max_attempts", "max_queued", "grace", "input_schema", "output_schema"}

// kindSpec is what a kind declared of its entries.
type kindSpec struct {
	keys  []string
	check func(Algorithm) error
}

var kindKeys = struct {
	sync.RWMutex
	m map[string]kindSpec
}{m: map[string]kindSpec{}}

// RegisterKind declares the runner kind name and the keys of an
// algorithm entry it takes beyond CommonKeys. Once any kind is declared,
// an entry of a kind that is not is an error too. check, when not nil,
// checks the kind's own keys of an entry as Validate runs — in every
// process that loads the config, a gateway too, not only in the runner
// that provisions the entry: it returns every problem it finds (joined,
// one a line), each naming its key; Validate adds the entry. It is called
// only for entries that set no key their kind does not take.
func RegisterKind(name string, check func(Algorithm) error, keys ...string) {
	kindKeys.Lock()
	defer kindKeys.Unlock()
	kindKeys.m[name] = kindSpec{keys: slices.Clone(keys), check: check}
}

// validateKindKeys checks that a, an entry of a kind, sets only keys its
// kind takes.
func validateKindKeys(a Algorithm, where string, add func(string, ...any)) {
	kindKeys.RLock()
	defer kindKeys.RUnlock()
	if len(kindKeys.m) == 0 {
		return // no kind declared (the config package alone, in its tests)
	}
	spec, ok := kindKeys.m[a.Kind]
	own := spec.keys
	if !ok {
		add("%s: unknown kind %q (want %s, or a pipeline)", where, a.Kind, strings.Join(slices.Sorted(maps.Keys(kindKeys.m)), ", "))
		return
	}
	stray := false
	for _, key := range append(setKeys(a), slices.Sorted(maps.Keys(a.Options))...) {
		if slices.Contains(CommonKeys, key) || slices.Contains(own, key) {
			continue
		}
		stray = true
		takes := "no keys of its own"
		if len(own) > 0 {
			takes = "these of its own: " + strings.Join(own, ", ")
		}
		add("%s: %s is not a key of kind %s (it takes the common keys and %s)", where, key, a.Kind, takes)
	}
	if stray || spec.check == nil {
		return
	}
	if err := spec.check(a); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			add("%s: %s", where, line)
		}
	}
}

// setKeys returns the yaml keys of the fields a sets (not zero).
func setKeys(a Algorithm) []string {
	v := reflect.ValueOf(a)
	t := v.Type()
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || v.Field(i).IsZero() { // Options: inline
			continue
		}
		keys = append(keys, key)
	}
	return keys
}
