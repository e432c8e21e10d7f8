package config

import (
	"maps"
	"strings"
	"testing"
)

// TestOptionsAsWritten: a kind decodes its keys from what the file says —
// vars: {V: 3.10} is "3.10", not the float 3.1 — through anchors and
// aliases too; a key its options type has no field for, or a value of the
// wrong type, is an error naming the key; SetOptions writes what
// DecodeOptions reads.
func TestOptionsAsWritten(t *testing.T) {
	type opts struct {
		Env map[string]string `yaml:"vars,omitempty"`
		N   int               `yaml:"n,omitempty"`
	}
	c, err := Parse([]byte(`algorithms:
  - {name: a, kind: k, vars: &e {V: 3.10, Z: 0123, D: 2001-12-14, H: 0x1F, B: yes}, n: 7}
  - {name: b, kind: k, vars: *e}
  - {name: c, kind: k, n: "7"}
  - {name: d, kind: k, varss: {}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"V": "3.10", "Z": "0123", "D": "2001-12-14", "H": "0x1F", "B": "yes"}
	var a opts
	if err := c.Algorithms[0].DecodeOptions(&a); err != nil || !maps.Equal(a.Env, want) || a.N != 7 {
		t.Errorf("a: %+v %v, want vars %v", a, err, want)
	}
	var b opts
	if err := c.Algorithms[1].DecodeOptions(&b); err != nil || !maps.Equal(b.Env, want) {
		t.Errorf("b (an alias): %+v %v", b, err)
	}
	if err := c.Algorithms[2].DecodeOptions(&opts{}); err == nil || err.Error() != "n: cannot unmarshal !!str `7` into int" {
		t.Errorf("c: %v", err)
	}
	if err := c.Algorithms[3].DecodeOptions(&opts{}); err == nil || !strings.HasPrefix(err.Error(), "varss: field varss not found in type") {
		t.Errorf("d: %v", err)
	}

	var e Algorithm
	if err := e.SetOptions(opts{Env: map[string]string{"A": "1.10"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetOptions(map[string]any{"n": 2}); err != nil {
		t.Fatal(err)
	}
	var got opts
	if err := e.DecodeOptions(&got); err != nil || got.Env["A"] != "1.10" || got.N != 2 || len(e.Options) != 2 {
		t.Errorf("SetOptions then DecodeOptions: %+v %v (options %v)", got, err, e.Options)
	}
	if err := e.SetOptions(3); err == nil {
		t.Error("SetOptions(3) took a value that is no mapping")
	}
}
