package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// Artifacts: a LocalFiles handler's attempt writes its artifacts as files
// in a directory of its own on the runner's disk (Task.OutputDir), so
// that a kind needs nothing but a path to give its code — an environment
// variable, a field of the worker protocol's job, a context value. Only
// once the attempt has succeeded does the runner stream them into the
// broker's object store, a chunk at a time, as files of the job's tenant;
// the job's record then lists them. An attempt that fails stores nothing,
// and artifacts stored for an outcome the job did not take (a cancel
// racing the end, a superseded attempt) are removed again.

// artifactDir is an attempt's directory of artifacts under tmp ("": the
// system's), made when its handler first asks for it (Task.ArtifactDir),
// or taken from spare.
type artifactDir struct {
	tmp    string
	spare  *spareDirs // nil: none kept
	mu     sync.Mutex
	asked  bool
	dir    string
	err    error
	remove func()
}

func (a *artifactDir) get() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.asked {
		a.asked = true
		if d, ok := a.spare.take(a.tmp); ok {
			a.dir, a.remove = d.path, d.remove
		} else {
			a.dir, a.remove, a.err = outputDir(a.tmp)
		}
	}
	return a.dir, a.err
}

// made returns the directory if it was made, else "". a may be nil.
func (a *artifactDir) made() string {
	if a == nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dir
}

// close removes the directory, if it was made — or keeps it for another
// attempt if it is as it was made: empty, mode 0700.
func (a *artifactDir) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.remove != nil {
		if !a.spare.keep(a.tmp, spareDir{a.dir, a.remove}) {
			a.remove()
		}
		a.remove = nil
	}
}

// outputDir makes an attempt's empty directory of artifacts under tmp
// ("": the system's), locked while the attempt runs, and returns it and
// its removal.
func outputDir(tmp string) (string, func(), error) {
	dir, err := os.MkdirTemp(tmp, outputPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("artifacts directory: %w", err)
	}
	unlock, err := lockFiles(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("artifacts directory: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir); unlock() }, nil
}

// maxSpareDirs bounds the directories of artifacts a runner keeps.
const maxSpareDirs = 64

// spareDirs keeps the empty directories of artifacts of ended attempts,
// still locked, for the next attempts: a worker process's no-op job is a
// few tens of microseconds of the runner's time, and making a directory,
// locking it, unlocking and removing it again cost several times that
// (a fifth of all the CPU of conveyor serve running such jobs).
type spareDirs struct {
	mu     sync.Mutex
	dirs   map[string][]spareDir // by parent
	closed bool
}

type spareDir struct {
	path   string
	remove func() // removes and unlocks it
}

// take returns a spare directory under tmp, if there is one. s may be nil.
func (s *spareDirs) take(tmp string) (spareDir, bool) {
	if s == nil {
		return spareDir{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.dirs[tmp])
	if n == 0 {
		return spareDir{}, false
	}
	d := s.dirs[tmp][n-1]
	s.dirs[tmp] = s.dirs[tmp][:n-1]
	return d, true
}

// keep keeps d, a directory under tmp that an attempt is done with, if it
// is as outputDir made it and there is room; it reports whether it did.
func (s *spareDirs) keep(tmp string, d spareDir) bool {
	if s == nil {
		return false
	}
	if fi, err := os.Lstat(d.path); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return false
	}
	f, err := os.Open(d.path)
	if err != nil {
		return false
	}
	_, err = f.Readdirnames(1)
	_ = f.Close()
	if err != io.EOF { // not empty, or unreadable
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.dirs[tmp]) >= maxSpareDirs {
		return false
	}
	if s.dirs == nil {
		s.dirs = map[string][]spareDir{}
	}
	s.dirs[tmp] = append(s.dirs[tmp], d)
	return true
}

// close removes the spare directories, and keeps none from now on.
func (s *spareDirs) close() {
	s.mu.Lock()
	dirs := s.dirs
	s.dirs, s.closed = nil, true
	s.mu.Unlock()
	for _, ds := range dirs {
		for _, d := range ds {
			d.remove()
		}
	}
}

// artifactStore is the part of the broker that storeArtifacts needs.
type artifactStore interface {
	StoreFile(ctx context.Context, r io.Reader, opt broker.PutFile) (broker.FileInfo, error)
	DeleteFile(ctx context.Context, id string) error
}

// storeArtifacts stores every file of dir ("": none was made) as an
// artifact of job j, of its tenant, and returns them (by name) with out,
// the attempt's output,
// whose artifact references ({"$artifact": name}) it replaced by file
// references to them. A file that cannot be an artifact — a directory, a
// link, a bad name — or a reference to no artifact fails the attempt for
// good, naming it; an object store that does not take a file fails it
// for another attempt. On any error what was stored is removed.
func storeArtifacts(ctx context.Context, b artifactStore, dir string, j *conveyor.Job, out json.RawMessage) (json.RawMessage, []conveyor.Artifact, error) {
	var entries []os.DirEntry
	if dir != "" {
		var err error
		if entries, err = os.ReadDir(dir); err != nil {
			return nil, nil, fmt.Errorf("artifacts: %w", err)
		}
	}
	var arts []conveyor.Artifact
	fail := func(err error) (json.RawMessage, []conveyor.Artifact, error) {
		dropArtifacts(ctx, b, arts)
		return nil, nil, err
	}
	// All are checked before any is stored.
	for _, e := range entries {
		name := e.Name()
		if err := conveyor.ValidArtifactName(name); err != nil {
			return nil, nil, conveyor.Permanent(fmt.Errorf("the attempt wrote a file that cannot be an artifact: %w", err))
		}
		if !e.Type().IsRegular() {
			return nil, nil, conveyor.Permanent(fmt.Errorf("artifact %q is not a regular file (a directory or a link): artifacts are the files directly in the output directory", name))
		}
	}
	for _, e := range entries {
		name := e.Name()
		a, err := storeArtifact(ctx, b, filepath.Join(dir, name), name, j)
		if err != nil {
			return fail(fmt.Errorf("store artifact %q: %w", name, err))
		}
		arts = append(arts, a)
	}
	resolved, err := conveyor.ResolveArtifactRefs(out, arts)
	if err != nil {
		return fail(conveyor.Permanent(err))
	}
	return resolved, arts, nil
}

// storeArtifact streams the file at path into the object store.
func storeArtifact(ctx context.Context, b artifactStore, path, name string, j *conveyor.Job) (conveyor.Artifact, error) {
	// A worker process still runs: what was a file when listed may be a
	// link by now, to a file the job may not read but the runner may.
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return conveyor.Artifact{}, conveyor.Permanent(fmt.Errorf("artifact %q cannot be read (a link, or gone): %w", name, err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return conveyor.Artifact{}, conveyor.Permanent(fmt.Errorf("artifact %q is not a regular file", name))
	}
	ct := mime.TypeByExtension(filepath.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	fi, err := b.StoreFile(ctx, f, broker.PutFile{Tenant: j.Tenant, ContentType: ct, Job: j.ID, Name: name})
	if err != nil {
		return conveyor.Artifact{}, err
	}
	return conveyor.Artifact{Name: name, File: fi.ID, Size: fi.Size, SHA256: fi.SHA256, ContentType: fi.ContentType}, nil
}

// dropArtifacts removes the files of arts, best effort: what stays
// expires with the retention.
func dropArtifacts(ctx context.Context, b artifactStore, arts []conveyor.Artifact) {
	if len(arts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, a := range arts {
		_ = b.DeleteFile(ctx, a.File)
	}
}

// dropPayload removes the file of a payload kept in the object store
// (none for nil) that no record refers to any more, or never did.
func dropPayload(ctx context.Context, b artifactStore, ref *conveyor.PayloadRef) {
	if ref == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = b.DeleteFile(ctx, ref.File)
}
