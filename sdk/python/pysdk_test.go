package pysdk

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestPythonSDK runs the SDK's own tests, python3 -m unittest, so that
// `go test ./...` runs them too. They replay the golden transcripts of
// workerproto/testdata against real worker processes.
func TestPythonSDK(t *testing.T) {
	py := testenv.Python(t)
	// go test caches results by the files the test binary reads: read
	// the Python sources and transcripts so that changing one reruns this.
	for _, pattern := range []string{"*.py", "conveyor/*.py", "tests/*.py", "../../workerproto/testdata/*.jsonl"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			_, _ = os.ReadFile(f)
		}
	}
	cmd := exec.Command(py, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestDirExtractsTheSDK(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := dirOnce()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fs.Glob(FS(), "conveyor/*.py")
	if len(want) < 5 || !slices.Contains(want, "conveyor/__init__.py") {
		t.Fatalf("embedded files: %v", want)
	}
	for _, f := range want {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		orig, _ := fs.ReadFile(FS(), f)
		if err != nil || string(b) != string(orig) {
			t.Errorf("%s: extracted copy differs (%v)", f, err)
		}
	}
	// A second extraction into the same place is a no-op.
	if err := extract(dir); err != nil {
		t.Fatal(err)
	}
	py := testenv.Python(t)
	cmd := exec.Command(py, "-c", "import conveyor, conveyor.worker; print(conveyor.__file__)")
	cmd.Env = []string{"PYTHONPATH=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), dir) {
		t.Fatalf("import from %s: %v: %s", dir, err, out)
	}
}
