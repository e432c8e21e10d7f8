// Package testenv answers what tests need to know about the machine they
// run on: whether they run under CI, and where the Python 3 interpreter is.
// Only tests import it.
//
// A test that needs a tool the machine lacks skips on a developer's
// machine but fails under CI, so that CI cannot pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// CI reports whether the tests run under continuous integration: the
// environment variable CI is set and not "false" (.ci/run sets CI=true,
// as most CI services do).
func CI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false"
}

// Missing ends a test that cannot run because the machine lacks something
// it needs: it fails the test under CI and skips it elsewhere. why says
// what is missing.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s (under CI a test must not skip for it: .ci/run expects it installed)", why)
	}
	t.Skip(why)
}

// pythonLookupTimeout bounds the one run of python3 that finds the
// interpreter: a shim that hangs fails the tests instead of hanging them.
const pythonLookupTimeout = time.Minute

var pythonPath = sync.OnceValues(func() (string, error) {
	if _, err := exec.LookPath("python3"); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonLookupTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python3 -c 'print(sys.executable)': %w", err)
	}
	p := strings.TrimSpace(string(out))
	if p == "" {
		return "", fmt.Errorf("python3 does not know its own executable")
	}
	return p, nil
})

// Python returns the path of the python3 interpreter itself, for tests
// that start Python processes: a wrapper on PATH such as pyenv's shim is
// slow to start and adds to a process's environment. Without python3 it
// skips the test, or fails it under CI (see Missing).
func Python(t testing.TB) string {
	t.Helper()
	p, err := pythonPath()
	if err != nil {
		Missing(t, fmt.Sprintf("no python3: %v", err))
	}
	return p
}
