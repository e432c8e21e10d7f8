package runner

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoNATSInRunner: the runner and its kinds reach NATS only through the
// broker package (deliveries, calls, cancels, doorbells, log writes): no
// file of theirs imports nats-io, so that what they need of the broker is
// said in the broker's own terms and can be faked at that seam.
func TestNoNATSInRunner(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "github.com/nats-io/") {
				t.Errorf("%s imports %s: go through package broker", path, imp.Path.Value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
