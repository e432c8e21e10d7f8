package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// Files are kept in the broker's own object store (bucket
// CONVEYOR_FILES), streamed in and out in chunks, replicated like every
// stream: an upload never sits whole in memory. Each file is an object
// named by its id, with its tenant, type and SHA-256 in the object's
// metadata; it expires after the retention.

// FilesBucket is the object store of uploaded files.
const FilesBucket = "CONVEYOR_FILES"

// File describes a stored file.
type File struct {
	ID          string    `json:"id"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Tenant owns it: other tenants do not see it.
	Tenant string `json:"-"`
}

// ErrTooLarge is the error of PutFile for a body past its limit.
var ErrTooLarge = errors.New("file over the size limit")

// files returns the object store of files, created as needed.
func (b *Broker) files(ctx context.Context) (jetstream.ObjectStore, error) {
	if os := b.objects.Load(); os != nil {
		return *os, nil
	}
	var os jetstream.ObjectStore
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		if os, err = b.js.ObjectStore(ctx, FilesBucket); err == nil {
			return nil
		}
		os, err = b.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      FilesBucket,
			Description: "Conveyor files: uploads, name = file id",
			TTL:         b.cfg.Retention,
			Storage:     jetstream.FileStorage,
			Replicas:    b.cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, unavailable("open the file store", err)
	}
	b.objects.Store(&os)
	return os, nil
}

// PutFile stores what r holds as file id of tenant, streamed in chunks.
// More than max bytes is ErrTooLarge, and a read error (the client gone)
// is returned as is: in both cases nothing is kept.
func (b *Broker) PutFile(ctx context.Context, id, tenant, contentType string, r io.Reader, max int64) (*File, error) {
	store, err := b.files(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	lr := &limitReader{r: io.TeeReader(r, h), left: max}
	info, err := store.Put(ctx, jetstream.ObjectMeta{
		Name:     id,
		Metadata: map[string]string{"tenant": tenant, "content_type": contentType},
	}, lr)
	if lr.over {
		return nil, ErrTooLarge
	}
	if err != nil {
		if ctx.Err() != nil || lr.err != nil {
			return nil, err // the client's doing
		}
		return nil, unavailable("store the file", err)
	}
	return fileOf(info, hexOf(h), b.cfg.Retention), nil
}

func hexOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// limitReader reads up to left bytes and fails past them.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
	err  error // a read error of r's
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one more byte tells a body over the limit
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

func fileOf(info *jetstream.ObjectInfo, sha string, retention time.Duration) *File {
	if sha == "" {
		if d, err := jetstream.DecodeObjectDigest(info.Digest); err == nil {
			sha = hex.EncodeToString(d)
		}
	}
	return &File{
		ID: info.Name, Size: int64(info.Size), SHA256: sha,
		ContentType: info.Metadata["content_type"], Tenant: info.Metadata["tenant"],
		ExpiresAt: info.ModTime.Add(retention).UTC(),
	}
}

// StatFile returns what is known of file id; ENOTFOUND when there is none.
func (b *Broker) StatFile(ctx context.Context, id string) (*File, error) {
	store, err := b.files(ctx)
	if err != nil {
		return nil, err
	}
	info, err := store.GetInfo(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	if err != nil {
		return nil, unavailable("read the file", err)
	}
	return fileOf(info, "", b.cfg.Retention), nil
}

// OpenFile returns file id's content, streamed; close it when done.
func (b *Broker) OpenFile(ctx context.Context, id string) (io.ReadCloser, error) {
	store, err := b.files(ctx)
	if err != nil {
		return nil, err
	}
	res, err := store.Get(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	if err != nil {
		return nil, unavailable("read the file", err)
	}
	return res, nil
}

// DeleteFile removes file id.
func (b *Broker) DeleteFile(ctx context.Context, id string) error {
	store, err := b.files(ctx)
	if err != nil {
		return err
	}
	if err := store.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return unavailable("delete the file", err)
	}
	return nil
}
