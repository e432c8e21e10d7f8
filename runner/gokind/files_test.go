package gokind

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
)

// TestFileField: a conveyor.File field is a reference object in the
// input schema, and the handler reads the local copy at its Path.
func TestFileField(t *testing.T) {
	type in struct {
		Data conveyor.File `json:"data"`
	}
	raw, err := reflectSchema(reflect.TypeFor[in]())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"$file":{"type":"string"}`) || !strings.Contains(string(raw), `"required":["$file"]`) {
		t.Errorf("schema %s: want a reference object requiring $file", raw)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o400); err != nil {
		t.Fatal(err)
	}
	h := &handler[in, string]{fn: func(ctx context.Context, in in) (string, error) {
		f, err := in.Data.Open()
		if err != nil {
			return "", err
		}
		defer f.Close()
		b := make([]byte, 5)
		_, err = f.Read(b)
		return string(b), err
	}}
	var _ runner.LocalFiles = h
	input, _ := json.Marshal(map[string]any{"data": conveyor.File{ID: "F", Path: path, Size: 5}})
	out, err := h.Run(t.Context(), &runner.Task{Input: input, Reporter: discard{}})
	if err != nil || string(out) != `"hello"` {
		t.Errorf("Run: %s %v", out, err)
	}
}

type discard struct{}

func (discard) Progress(float64, string) {}
func (discard) Log(string, string)       {}
