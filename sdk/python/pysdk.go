// Package pysdk bundles Conveyor's Python SDK (the conveyor package beside
// this file) into the conveyor binary, so that worker processes can import
// it on a machine where nothing was pip-installed.
//
// Dir extracts the SDK once per content version into a cache directory
// and returns the directory to put on PYTHONPATH; the worker runner kind
// does so for every process it starts.
package pysdk

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
)

//go:embed conveyor/*.py
var files embed.FS

// FS returns the SDK's files: conveyor/*.py.
func FS() fs.FS { return files }

// Dir returns a directory that holds the SDK as conveyor/*.py, for
// PYTHONPATH. The first call extracts it under os.UserCacheDir() (or
// os.TempDir() when there is none) in a directory named after a hash of
// the files' contents, so that binaries of different versions never share
// one; later calls, and later processes, reuse it. It returns an error
// only when no directory can be written.
func Dir() (string, error) { return dirOnce() }

var dirOnce = sync.OnceValues(func() (string, error) {
	sum, err := hash()
	if err != nil {
		return "", err
	}
	var errs []error
	for _, base := range bases() {
		dir := filepath.Join(base, "conveyor", "python-sdk-"+sum)
		if err := extract(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		return dir, nil
	}
	return "", fmt.Errorf("extract the Python SDK: %v", errs)
})

// SharedDir returns a directory holding the SDK that every user may read
// and only this process's user may write, for workers that run as another
// user (an entry's user:), who cannot reach a directory under the
// runner's home. It is /tmp/conveyor-python-sdk-<hash>-<uid>, made once
// and then reused only if it is still a directory this user owns that
// no one else may write: a directory someone else made there is an error,
// never code to run.
func SharedDir() (string, error) { return sharedOnce() }

var sharedOnce = sync.OnceValues(func() (string, error) {
	sum, err := hash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("conveyor-python-sdk-%s-%d", sum, os.Getuid()))
	if err := extract(dir); err != nil {
		return "", fmt.Errorf("extract the Python SDK: %w", err)
	}
	if err := ownedAndSafe(dir); err != nil {
		return "", fmt.Errorf("the Python SDK in %s: %w", dir, err)
	}
	return dir, nil
})

// ownedAndSafe checks that dir, and the package directory in it, are real
// directories of this process's user that no one else may write.
func ownedAndSafe(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, "conveyor")} {
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s may be written by others (%v)", d, fi.Mode().Perm())
		}
		if uid, ok := owner(fi); ok && uid != os.Getuid() {
			return fmt.Errorf("%s belongs to uid %d, not %d", d, uid, os.Getuid())
		}
	}
	return nil
}

// bases lists the parent directories to try, best first.
func bases() []string {
	var out []string
	if d, err := os.UserCacheDir(); err == nil {
		out = append(out, d)
	}
	return append(out, os.TempDir())
}

// hash returns the first 16 hex digits of the SHA-256 of every file's
// name and content.
func hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// extract writes the SDK into dir unless it is there already. It writes
// into a temporary sibling first and renames it into place, so a
// concurrent process never sees a half-written SDK.
func extract(dir string) error {
	if complete(dir) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".python-sdk-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil && !complete(dir) {
		return err
	}
	return nil
}

// complete reports whether dir holds every file of the SDK.
func complete(dir string) bool {
	entries, err := fs.ReadDir(files, "conveyor")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, "conveyor", path.Base(e.Name()))); err != nil {
			return false
		}
	}
	return true
}
