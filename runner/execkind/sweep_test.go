//go:build unix

package execkind

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSweepStaleTempDirs: at start, an exec algorithm removes the attempt
// directories a runner killed with SIGKILL left behind — its own naming,
// older than this runner, held by no live runner — and nothing else.
func TestSweepStaleTempDirs(t *testing.T) {
	tmp := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "input.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		// A read-only directory inside, as a job may leave.
		if err := os.Chmod(filepath.Join(dir, "sub"), 0o500); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	mk("conveyor-job-111", old)           // stale: removed
	mk("conveyor-job-222", old)           // stale: removed
	mk("conveyor-job-333", time.Now())    // newer than the runner: kept
	mk("conveyor-other-444", old)         // another algorithm's: kept
	mk("conveyor-job_x-555", old)         // another algorithm's: kept
	mk("conveyor-job-abc", old)           // not MkdirTemp's naming: kept
	locked := mk("conveyor-job-666", old) // held by a live attempt: kept
	unlock, err := lockDir(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := os.Chtimes(locked, old, old); err != nil {
		t.Fatal(err)
	}

	newHandler(t, []string{"sh", "testdata/reports.sh"}, withTmp(tmp))

	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"conveyor-job-333", "conveyor-job-666", "conveyor-job-abc", "conveyor-job_x-555", "conveyor-other-444"}
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	t.Cleanup(func() { _ = removeAll(tmp) }) // the read-only sub-directories
}
