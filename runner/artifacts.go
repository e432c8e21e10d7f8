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
// system's), made when its handler first asks for it (Task.ArtifactDir).
type artifactDir struct {
	tmp    string
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
		a.dir, a.remove, a.err = outputDir(a.tmp)
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

// close removes the directory, if it was made.
func (a *artifactDir) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.remove != nil {
		a.remove()
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
