//go:build unix

package execkind

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

// TestMain fails the package when goroutines outlive the tests: Run must
// not leak any, whatever the process does.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRegistered(t *testing.T) {
	k, err := runner.LookupKind("exec")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(Kind); !ok {
		t.Errorf("kind exec is %T, want execkind.Kind", k)
	}
}

func TestProvision(t *testing.T) {
	served, err := Kind{}.Provision(context.Background(), Entry(config.Algorithm{
		Name:         "nightly_report",
		Description:  "Builds the report.",
		Timeout:      conveyor.Duration(time.Hour),
		MaxAttempts:  2,
		OutputSchema: map[string]any{"type": "object"},
	}, Options{
		Command: []string{"sh", "-c", "true"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(served) != 1 {
		t.Fatalf("served %d algorithms, want 1", len(served))
	}
	got := served[0].Algorithm
	want := conveyor.Algorithm{
		Name:         "nightly_report",
		Description:  "Builds the report.",
		Kind:         "exec",
		InputSchema:  conveyor.AnyObjectSchema,
		OutputSchema: json.RawMessage(`{"type":"object"}`),
		Timeout:      conveyor.Duration(time.Hour),
		MaxAttempts:  2,
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("algorithm = %s\nwant %s", gotJSON, wantJSON)
	}
	h := served[0].Handler.(*handler)
	if !filepath.IsAbs(h.cmd.Path) || filepath.Base(h.cmd.Path) != "sh" {
		t.Errorf("executable = %q, want an absolute path to sh", h.cmd.Path)
	}
	if h.grace != config.DefaultGrace {
		t.Errorf("grace = %v, want the default %v", h.grace, config.DefaultGrace)
	}
}

func TestProvisionSchemaAndDir(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	served, err := Kind{}.Provision(context.Background(), Entry(config.Algorithm{
		Name:        "job",
		InputSchema: map[string]any{"type": "object", "required": []any{"n"}},
	}, Options{
		Command: []string{"./job.sh"},
		Dir:     dir,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(served[0].Algorithm.InputSchema), `{"required":["n"],"type":"object"}`; got != want {
		t.Errorf("input schema = %s, want %s", got, want)
	}
	if got := served[0].Handler.(*handler).cmd.Path; got != script {
		t.Errorf("executable = %q, want %q (relative to dir)", got, script)
	}
}

func TestProvisionErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		entry config.Algorithm
		want  string
	}{
		{"no name", Entry(config.Algorithm{}, Options{Command: []string{"true"}}), "name is required"},
		{"bad name", Entry(config.Algorithm{Name: "Bad-Name"}, Options{Command: []string{"true"}}), "invalid algorithm name"},
		{"no command", config.Algorithm{Name: "a"}, "command is required"},
		{"empty program", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{""}}), "command is required"},
		{"missing program", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"no-such-program-conveyor"}}), "not found"},
		{"missing path", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"./missing.sh"}, Dir: dir}), "missing.sh"},
		{"not executable", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{notExec}}), "permission denied"},
		{"env PATH used for lookup", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"sh"}, Env: map[string]string{"PATH": dir}}), "not found"},
		{"missing dir", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"true"}, Dir: filepath.Join(dir, "nope")}), "dir"},
		{"dir is a file", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"true"}, Dir: notExec}), "not a directory"},
		{"reserved env", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"true"}, Env: map[string]string{"CONVEYOR_INPUT": "x"}}), "reserved"},
		{"bad env name", Entry(config.Algorithm{Name: "a"}, Options{Command: []string{"true"}, Env: map[string]string{"A=B": "x"}}), "not a valid environment variable"},
		{"bad schema", Entry(config.Algorithm{Name: "a", InputSchema: map[string]any{"x": func() {}}}, Options{Command: []string{"true"}}), "input_schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Kind{}.Provision(context.Background(), tt.entry)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Provision error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
