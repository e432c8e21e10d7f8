package pysdk

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// unittestTimeout bounds the run of the SDK's own tests, which take
// seconds: a test that hangs fails TestPythonSDK instead of hanging it.
const unittestTimeout = 3 * time.Minute

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
	ctx, cancel := context.WithTimeout(context.Background(), unittestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 5 * time.Second // worker processes holding the output pipe cannot hang Wait
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("python3 -m unittest still ran after %v and was killed; its output so far:\n%s", unittestTimeout, out)
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", "import conveyor, conveyor.worker; print(conveyor.__file__)")
	cmd.Env = []string{"PYTHONPATH=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), dir) {
		t.Fatalf("import from %s: %v: %s", dir, err, out)
	}
}
