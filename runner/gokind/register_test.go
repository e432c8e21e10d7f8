package gokind

import (
	"context"
	"slices"
	"strings"
	"testing"
)

type echoIn struct {
	Text string `json:"text"`
}

type echoOut struct {
	Text string `json:"text"`
}

func echo(_ context.Context, in echoIn) (echoOut, error) { return echoOut(in), nil }

// Tests register in init: a test may run more than once in a process
// (go test -count=2), an algorithm may be registered only once.
func init() {
	Register("test_register_echo", echo, Describe("Echoes."))
	Register("test_register_dup", echo)
}

func TestRegister(t *testing.T) {
	a, ok := lookup("test_register_echo")
	if !ok {
		t.Fatal("not registered")
	}
	if a.description != "Echoes." {
		t.Errorf("description %q", a.description)
	}
	if !strings.Contains(string(a.input), `"required":["text"]`) || !strings.Contains(string(a.output), `"text"`) {
		t.Errorf("schemas: input %s, output %s", a.input, a.output)
	}
	names := Registered()
	if !slices.Contains(names, "test_register_echo") || !slices.IsSorted(names) {
		t.Errorf("Registered() = %q, want sorted names including test_register_echo", names)
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name     string
		register func()
		want     string
	}{
		{"invalid name", func() { Register("Is-Prime", echo) }, `invalid algorithm name "Is-Prime"`},
		{"duplicate", func() { Register("test_register_dup", echo) }, `algorithm "test_register_dup" registered twice`},
		{"nil function", func() { Register[echoIn, echoOut]("test_register_nil", nil) }, "nil function"},
		{"input not an object", func() {
			Register("test_register_int", func(context.Context, int) (int, error) { return 0, nil })
		}, "input type int: its schema is of type integer"},
		{"output not JSON", func() {
			Register("test_register_chan", func(context.Context, echoIn) (chan int, error) { return nil, nil })
		}, "output type chan int: cannot derive a JSON Schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tt.want) {
					t.Errorf("panic %v, want one containing %q", r, tt.want)
				}
			}()
			tt.register()
		})
	}
	for _, name := range []string{"test_register_nil", "test_register_int", "test_register_chan"} {
		if _, ok := lookup(name); ok {
			t.Errorf("%s was registered despite the panic", name)
		}
	}
}
