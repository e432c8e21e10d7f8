package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// OtherEnv are the CONVEYOR_* environment variables that name no config
// key but are read by something else, so that a server started in an
// environment that sets them does not take them for misspelled keys.
var OtherEnv = []string{
	// The CLI and the SDK's client.
	"CONVEYOR_SERVER", "CONVEYOR_TOKEN", "CONVEYOR_CACERT",
	// The server commands: --config.
	"CONVEYOR_CONFIG",
	// What a runner gives the processes it starts (exec and worker).
	"CONVEYOR_INPUT", "CONVEYOR_JOB_ID", "CONVEYOR_ALGORITHM", "CONVEYOR_ATTEMPT",
	"CONVEYOR_DEADLINE", "CONVEYOR_TRACEPARENT", "CONVEYOR_TMPDIR", "CONVEYOR_PROTOCOL",
	"CONVEYOR_OUTPUT_DIR", "CONVEYOR_PREFETCH",
	// The tests: where the dashboard test keeps its screenshots, the
	// OpenAPI 3.1 schema the spec is checked against, and CI's word that
	// pydantic 2 is there (the SDK's pydantic test may not skip).
	"CONVEYOR_SCREENSHOTS", "CONVEYOR_OAS31_SCHEMA", "CONVEYOR_CI_PYDANTIC",
}

// envKeys returns the environment variable of every key of the struct
// type t that applyEnv would read, prefix first: sections and the keys
// inside them.
func envKeys(t reflect.Type, prefix string, out map[string]bool) {
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		out[name] = true
		if ft := t.Field(i).Type; ft.Kind() == reflect.Struct {
			envKeys(ft, name, out)
		}
	}
}

// checkEnv returns an error naming every CONVEYOR_* variable of env that
// is no config key, none of OtherEnv, and no variable c names for a
// secret (a token's token_env, callbacks.secret_env): a misspelled
// variable must not fall back to a default without a word, as a
// misspelled YAML key does not.
func checkEnv(c *Config, env map[string]string) error {
	known := map[string]bool{}
	envKeys(reflect.TypeOf(*c), EnvPrefix, known)
	for _, k := range OtherEnv {
		known[k] = true
	}
	for _, tok := range c.Auth.Tokens {
		known[tok.TokenEnv] = true
	}
	known[c.Callbacks.SecretEnv] = true
	var unknown []string
	for k := range env {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	msgs := make([]string, len(unknown))
	for i, k := range unknown {
		msgs[i] = k
		if near := nearest(k, known); near != "" {
			msgs[i] += " (did you mean " + near + "?)"
		}
	}
	return fmt.Errorf("unknown environment variable %s: it names no config key (the variable of a key is CONVEYOR_ and its upper-cased path joined by '_', e.g. CONVEYOR_HTTP_ADDR)",
		strings.Join(msgs, ", "))
}

// nearest returns the name of known closest to name when it is a likely
// misspelling of it (at most two edits away), else "".
func nearest(name string, known map[string]bool) string {
	best, bestD := "", 3
	for k := range known {
		if k == "" {
			continue
		}
		if d := editDistance(name, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, counting a swap of
// two neighbouring letters as one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
