package gokind

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

func init() {
	Register("test_kind_a", echo, Describe("A."))
	Register("test_kind_b", echo, Describe("B."))
}

func TestKindIsRegistered(t *testing.T) {
	k, err := runner.LookupKind("go")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(Kind); !ok {
		t.Errorf("kind go is a %T", k)
	}
}

func TestProvision(t *testing.T) {
	tests := []struct {
		name      string
		entry     config.Algorithm
		wantNames []string // must be served, in this order among those served
		wantErr   string
	}{
		{name: "by name", entry: config.Algorithm{Name: "test_kind_b"}, wantNames: []string{"test_kind_b"}},
		{name: "all", entry: config.Algorithm{}, wantNames: []string{"test_kind_a", "test_kind_b"}},
		{
			name:    "unknown name",
			entry:   config.Algorithm{Name: "test_kind_nope"},
			wantErr: `no Go algorithm named "test_kind_nope" is registered (registered: `,
		},
		{name: "command", entry: otherKeys(t, map[string]any{"command": []string{"python3"}}), wantErr: "command is not used"},
		{name: "dir", entry: otherKeys(t, map[string]any{"dir": "/tmp"}), wantErr: "dir is not used"},
		{name: "env", entry: otherKeys(t, map[string]any{"env": map[string]string{"A": "1"}}), wantErr: "env is not used"},
		{
			name:    "input schema",
			entry:   config.Algorithm{Name: "test_kind_a", InputSchema: map[string]any{"type": "object"}},
			wantErr: "Go algorithms take their schema from the handler's input and output types",
		},
		{name: "description without name", entry: config.Algorithm{Description: "all"}, wantErr: "description needs a name"},
		{
			name:    "every problem at once",
			entry:   otherKeys(t, map[string]any{"command": []string{"x"}, "dir": "d"}),
			wantErr: "kind go: command is not used: Go algorithms run inside the runner; dir is not used",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served, err := Kind{}.Provision(context.Background(), tt.entry)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range served {
				if strings.HasPrefix(s.Algorithm.Name, "test_kind_") {
					names = append(names, s.Algorithm.Name)
				}
				if s.Algorithm.Kind != "go" || s.Handler == nil || len(s.Algorithm.InputSchema) == 0 || len(s.Algorithm.OutputSchema) == 0 {
					t.Errorf("served %+v", s)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantNames, ",") {
				t.Errorf("served %q, want %q", names, tt.wantNames)
			}
		})
	}
}

func TestProvisionSettings(t *testing.T) {
	entry := config.Algorithm{
		Name:        "test_kind_a",
		Kind:        "go",
		Timeout:     conveyor.Duration(time.Minute),
		MaxAttempts: 5,
		Workers:     config.Workers{Max: 2},
	}
	entry.WithDefaults()
	served, err := Kind{}.Provision(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	got := served[0].Algorithm
	if got.Description != "A." || got.Timeout.Std() != time.Minute || got.MaxAttempts != 5 {
		t.Errorf("algorithm %+v, want the registered description, timeout 1m, 5 attempts", got)
	}

	entry.Description = "Overridden."
	served, err = Kind{}.Provision(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	if d := served[0].Algorithm.Description; d != "Overridden." {
		t.Errorf("description %q, want the entry's", d)
	}

	// The schemas served are copies: a caller cannot corrupt the registry.
	served[0].Algorithm.InputSchema[0] = 'X'
	again, _ := Kind{}.Provision(context.Background(), entry)
	if again[0].Algorithm.InputSchema[0] != '{' {
		t.Error("changing a served schema changed the registry")
	}
}

// otherKeys returns an entry of algorithm test_kind_a that sets keys of
// other kinds.
func otherKeys(t *testing.T, keys map[string]any) config.Algorithm {
	e := config.Algorithm{Name: "test_kind_a"}
	if err := e.SetOptions(keys); err != nil {
		t.Fatal(err)
	}
	return e
}
