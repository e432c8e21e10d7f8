package gateway

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoNATSInGateway: the gateway reaches NATS only through the broker
// package (its watches, calls, leases): no file of it imports nats-io, so
// that what it needs of the broker is said in the broker's own terms.
func TestNoNATSInGateway(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "github.com/nats-io/") {
				t.Errorf("%s imports %s: go through package broker", name, imp.Path.Value)
			}
		}
	}
}
