package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "CONVEYOR"

// Load reads the YAML file at path ("" for none), applies CONVEYOR_*
// environment variables from environ (as os.Environ returns them) over it,
// fills defaults and validates the result. Unknown keys are errors, so a
// typo never silently falls back to a default: in the file, and in a
// CONVEYOR_* variable that names no key and is none of OtherEnv or the
// secrets the config names.
func Load(path string, environ []string) (Config, error) {
	if path == "" {
		return finish(Config{Algorithms: []Algorithm{{Kind: "go"}}}, environ)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data, environ)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a config from YAML text, then does what Load does with it.
func Parse(data []byte, environ []string) (Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return Config{}, err
	}
	return finish(c, environ)
}

// finish applies the environment, fills defaults and validates.
func finish(c Config, environ []string) (Config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix+"_") {
			env[k] = v
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), EnvPrefix, env); err != nil {
		return Config{}, err
	}
	if err := checkEnv(&c, env); err != nil {
		return Config{}, err
	}
	c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func decodeStrict(data []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// applyEnv sets each field of the struct v whose variable (prefix_KEY) is in
// env, decoding the value as YAML into the field, so scalars, lists
// ("[a, b]") and whole sections ("{addr: ':9000'}") can all be given. Then it
// descends into struct fields, so CONVEYOR_HTTP_ADDR overrides one key.
func applyEnv(v reflect.Value, prefix string, env map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		f := v.Field(i)
		if val, ok := env[name]; ok {
			if err := decodeEnv(val, f); err != nil {
				return fmt.Errorf("environment variable %s=%q: %w", name, val, err)
			}
		}
		if f.Kind() == reflect.Struct {
			if err := applyEnv(f, name, env); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeEnv(val string, f reflect.Value) error {
	if f.Kind() == reflect.String {
		// A string is taken verbatim: "yes" stays "yes", ":8080" stays ":8080".
		f.SetString(val)
		return nil
	}
	fresh := reflect.New(f.Type())
	if err := decodeStrict([]byte(val), fresh.Interface()); err != nil {
		return err
	}
	f.Set(fresh.Elem())
	return nil
}
