package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// LocalFiles is implemented by handlers whose work reads the files an
// input references from the local disk — the exec, worker and go kinds.
// Before each attempt (or call) of such a handler the runner copies every
// file the input references ({"$file": id}) from the broker's object
// store to a local read-only file, and gives the handler the input with
// each reference completed by the copy's path, size, sha256 and content
// type (conveyor.File). The copies are removed when Run returns, however
// it ends. Other handlers get the references as they were submitted.
//
// Such a handler also gets a directory for the attempt's artifacts when it
// asks for it (Task.ArtifactDir): once Run succeeds, the runner stores
// every file the handler left there as an artifact of the job (see
// storeArtifacts).
type LocalFiles interface {
	UsesLocalFiles()
}

// localFiles materializes the files input references when the pool's
// handler uses local files (see materialize), with the attempt's
// directory of artifacts, made if the handler asks for it (see
// Task.ArtifactDir); else it returns input as it is and no directory. The
// removal it returns, of both, is never nil. With a tenant, a file of
// another tenant's is refused (see materialize).
func (r *Runner) localFiles(ctx context.Context, p *pool, input json.RawMessage, tenant string) (json.RawMessage, *artifactDir, func(), error) {
	if _, ok := p.handler.(LocalFiles); !ok {
		return input, nil, func() {}, nil
	}
	in, removeIn, err := materialize(ctx, r.b, "", input, tenant)
	if err != nil {
		return nil, nil, removeIn, err
	}
	arts := &artifactDir{spare: &r.spareDirs}
	return in, arts, func() { removeIn(); arts.close() }, nil
}

// fileReader is the part of the broker that materialize needs.
type fileReader interface {
	StatFile(ctx context.Context, id string) (broker.FileInfo, error)
	ReadFile(ctx context.Context, id string, offset int64) (io.ReadCloser, error)
	KeepFile(ctx context.Context, fi broker.FileInfo, until time.Time) error
	Config() broker.Config
}

// keepTimeout bounds the writes that keep an attempt's files.
const keepTimeout = 10 * time.Second

// materialize copies the files input references into a new directory
// under tmp ("": the system's) and returns input with the references
// completed, and the removal of the directory, which the caller must call
// (it is never nil). With no reference it returns input as it is. A file
// that is gone (expired, deleted) is a permanent error naming it and its
// pointer; a broker that cannot be read, a retryable one. When tenant is
// not "", a file of another tenant is a permanent error too: the input of
// a pipeline's later stage is an earlier stage's output, which the
// gateway did not check. The removal also keeps each file for the
// broker's retention from then (see broker.KeepFile): the job's record
// lives that long after the attempt, and a retry of it must find them.
func materialize(ctx context.Context, b fileReader, tmp string, input json.RawMessage, tenant string) (json.RawMessage, func(), error) {
	nothing := func() {}
	refs, err := conveyor.FileRefs(input)
	if err != nil || len(refs) == 0 {
		return input, nothing, nil // the gateway refused any bad one
	}
	dir, err := os.MkdirTemp(tmp, filesPrefix)
	if err != nil {
		return nil, nothing, fmt.Errorf("input files: %w", err)
	}
	// Locked while the attempt runs: a runner starting after this one
	// died removes it (sweepFiles), never while it is in use.
	unlock, err := lockFiles(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nothing, fmt.Errorf("input files: %w", err)
	}
	local := map[string]conveyor.File{} // by id: a file referenced twice is copied once
	var kept []broker.FileInfo
	cleanup := func() {
		_ = os.RemoveAll(dir)
		unlock()
		if len(kept) == 0 {
			return
		}
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepTimeout)
		defer cancel()
		until := time.Now().Add(b.Config().Retention)
		for _, fi := range kept {
			// A failure leaves the file its earlier keep time: at worst
			// it expires with the retention from its upload.
			_ = b.KeepFile(kctx, fi, until)
		}
	}
	out, err := conveyor.ReplaceFileRefs(input, func(ptr, id string) (json.RawMessage, error) {
		f, ok := local[id]
		if !ok {
			var err error
			var fi broker.FileInfo
			if f, fi, err = copyFile(ctx, b, dir, id, tenant); err != nil {
				if errors.Is(err, errOtherTenant) {
					return nil, conveyor.Permanent(fmt.Errorf("input file %s (at %s) is another tenant's", id, pointerName(ptr)))
				}
				if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
					return nil, conveyor.Permanent(fmt.Errorf("input file %s (at %s) is gone: it expired or was deleted", id, pointerName(ptr)))
				}
				return nil, fmt.Errorf("input file %s (at %s): %w", id, pointerName(ptr), err)
			}
			local[id] = f
			kept = append(kept, fi)
		}
		return json.Marshal(f)
	})
	if err != nil {
		cleanup()
		return nil, nothing, err
	}
	return out, cleanup, nil
}

// errOtherTenant is copyFile's error for a file of another tenant.
var errOtherTenant = errors.New("another tenant's file")

// copyFile streams the file with id into dir, read-only, and returns its
// reference completed, and what the broker says of it. With a tenant, a
// file of another is errOtherTenant.
func copyFile(ctx context.Context, b fileReader, dir, id, tenant string) (conveyor.File, broker.FileInfo, error) {
	fi, err := b.StatFile(ctx, id)
	if err != nil {
		return conveyor.File{}, fi, err
	}
	if tenant != "" && fi.Tenant != tenant {
		return conveyor.File{}, fi, errOtherTenant
	}
	rc, err := b.ReadFile(ctx, id, 0)
	if err != nil {
		return conveyor.File{}, fi, err
	}
	defer rc.Close()
	path := filepath.Join(dir, id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return conveyor.File{}, fi, err
	}
	n, err := io.CopyBuffer(f, rc, make([]byte, 128<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != fi.Size {
		err = fmt.Errorf("got %d bytes of %d", n, fi.Size)
	}
	if err == nil {
		err = os.Chmod(path, 0o400)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return conveyor.File{}, fi, err
	}
	return conveyor.File{ID: id, Name: fi.Name, Path: path, Size: fi.Size, SHA256: fi.SHA256, ContentType: fi.ContentType}, fi, nil
}

// pointerName is a JSON pointer as an error message names it.
func pointerName(p string) string {
	if p == "" {
		return "the input"
	}
	return p
}

// stageInput returns the input of the stage job j is at (its own input,
// or an earlier stage's output): from its record, or, for a large one the
// record only refers to (see conveyor.PayloadRef), read from the object
// store into one buffer. An input that is gone is a permanent error; a
// broker that cannot be read, a retryable one. The keep it returns (never
// nil), called when the attempt ends, keeps the input's file for the
// retention from then: the job's record lives that long after the
// attempt, and a retry of it must find it.
func (r *Runner) stageInput(ctx context.Context, j *conveyor.Job) (json.RawMessage, func(), error) {
	nothing := func() {}
	ref := j.InputRef
	if j.Stage != nil && (len(j.Stage.Input) > 0 || j.Stage.InputRef != nil) {
		ref = j.Stage.InputRef // an earlier stage's output
	}
	if ref == nil {
		return j.StageInput(), nothing, nil
	}
	data, err := broker.ReadPayload(ctx, r.b, ref)
	if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
		return nil, nothing, conveyor.Permanent(fmt.Errorf("the job's input (file %s) is gone: it expired or was deleted", ref.File))
	}
	if err != nil {
		return nil, nothing, fmt.Errorf("read the job's input: %w", err)
	}
	keep := func() {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepTimeout)
		defer cancel()
		broker.KeepPayloads(kctx, r.b, []*conveyor.PayloadRef{ref}, time.Now().Add(r.b.Config().Retention))
	}
	return data, keep, nil
}
