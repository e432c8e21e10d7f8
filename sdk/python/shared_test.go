package pysdk

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSharedDir: the shared SDK directory is one every user may read and
// only its owner write, and a directory that anyone may write is refused
// rather than run.
func TestSharedDir(t *testing.T) {
	dir, err := SharedDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "conveyor", "worker.py")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o005 != 0o005 || perm&0o022 != 0 {
		t.Errorf("%s mode %v: want readable by all, writable by its owner only", dir, perm)
	}
	planted := t.TempDir()
	if err := os.Mkdir(filepath.Join(planted, "conveyor"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(planted, "conveyor"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := ownedAndSafe(planted); err == nil {
		t.Errorf("a package directory anyone may write was taken")
	}
}
