package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
)

// FilesBucket is the object store of uploaded files (stream OBJ_<name>).
const FilesBucket = "CONVEYOR_FILES"

// Metadata keys of an uploaded file's object.
const (
	fileTenantKey = "conveyor-tenant"
	fileTypeKey   = "conveyor-content-type"
	// Set on a job's artifact: the job and the artifact's name.
	fileJobKey  = "conveyor-job"
	fileNameKey = "conveyor-artifact"
	// Set when the chunks are stored one after the other: the stream
	// sequence of the first, and the size of each but the last.
	fileFirstSeqKey = "conveyor-first-seq"
	fileChunkKey    = "conveyor-chunk-size"
)

// fileChunk is the size of the object store's chunks: a chunk is one
// message, so it bounds what one write or read holds.
const fileChunk = 128 << 10

// fileStore is the object store of uploaded files and its stream.
type fileStore struct {
	obs    jetstream.ObjectStore
	stream jetstream.Stream
}

// FileInfo describes an uploaded file.
type FileInfo struct {
	ID          string
	Tenant      string // who uploaded it; "" for a request of no tenant
	Job, Name   string // of an artifact: the job that wrote it, its name there
	ContentType string
	Size        int64
	SHA256      string // hex
	Created     time.Time
	ExpiresAt   time.Time
}

// PutFile says what a file to store is and how much of it to take.
type PutFile struct {
	Tenant      string
	ContentType string
	// MaxSize caps the file: a longer one is refused (ETOOLARGE) and
	// nothing of it is kept. 0: no cap.
	MaxSize int64
	// SHA256, when set, is the digest the client says the file has: a
	// file with another is refused (EINVALID) and nothing is kept.
	SHA256 []byte
	// Job and Name are set for an artifact: the job that wrote it and
	// its name there.
	Job, Name string
}

// ensureFiles creates the object store of uploaded files, replicated and
// expiring as the job records are, or updates it if it is configured
// otherwise.
func (b *Broker) ensureFiles(ctx context.Context) error {
	want := jetstream.ObjectStoreConfig{
		Bucket:      FilesBucket,
		Description: "Conveyor uploaded files, object name = file id, metadata: tenant and content type",
		TTL:         b.cfg.Retention,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.Replicas,
	}
	obs, err := b.js.ObjectStore(ctx, want.Bucket)
	if err == nil {
		st, serr := obs.Status(ctx)
		if serr != nil || st.Description() != want.Description || st.TTL() != want.TTL || st.Replicas() != want.Replicas {
			obs = nil
		}
	}
	if obs == nil || err != nil {
		if obs, err = b.js.CreateOrUpdateObjectStore(ctx, want); err != nil {
			return err
		}
	}
	s, err := b.js.Stream(ctx, "OBJ_"+FilesBucket)
	if err != nil {
		return err
	}
	b.files = fileStore{obs, s}
	return nil
}

// StoreFile reads r to its end into a new file of the object store and
// returns what it stored. The file is visible only once all of it is
// stored: when reading r fails (the client hung up), the file is over
// opt.MaxSize (ETOOLARGE) or its digest is not opt.SHA256 (EINVALID), the
// chunks written so far are removed and nothing is kept. Memory is one
// chunk, whatever the size. Errors of the broker are EUNAVAILABLE, but for
// a full disk, ESTORAGE.
func (b *Broker) StoreFile(ctx context.Context, r io.Reader, opt PutFile) (FileInfo, error) {
	id := ulid.Make().String()
	ct := opt.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	g := &guardReader{r: r, max: opt.MaxSize, want: opt.SHA256}
	if opt.SHA256 != nil {
		g.h = sha256.New()
	}
	meta := jetstream.ObjectMeta{
		Name:     id,
		Metadata: map[string]string{fileTenantKey: opt.Tenant, fileTypeKey: ct},
		Opts:     &jetstream.ObjectMetaOptions{ChunkSize: fileChunk},
	}
	if opt.Job != "" {
		meta.Metadata[fileJobKey], meta.Metadata[fileNameKey] = opt.Job, opt.Name
	}
	// A hung-up client fails the body's reads: putObject then removes
	// the chunks it wrote, whatever becomes of ctx.
	info, err := b.putObject(ctx, meta, g)
	switch {
	case g.err != nil:
		return FileInfo{}, g.err
	case err != nil && ctx.Err() != nil:
		return FileInfo{}, ctx.Err()
	case err != nil && g.readErr != nil:
		return FileInfo{}, g.readErr
	case err != nil:
		return FileInfo{}, fileStoreError(err)
	}
	return fileInfo(info, b.cfg.Retention)
}

// fileStoreError is the coded error of a write to the object store.
func fileStoreError(err error) error {
	var apiErr *jetstream.APIError
	// JetStream's "insufficient resources" and "insufficient storage".
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == 10023 || apiErr.ErrorCode == 10047) ||
		strings.Contains(err.Error(), "insufficient resources") || strings.Contains(err.Error(), "insufficient storage") {
		return &conveyor.Error{Code: conveyor.ESTORAGE, Message: "the broker has no room for the file", Err: err}
	}
	return unavailable("store file", err)
}

// guardReader passes r on, failing with ETOOLARGE once more than max
// bytes came and, when want is set, with EINVALID at the end if the
// digest of what came is not want. Its err is the error it made up;
// readErr the reader's own.
type guardReader struct {
	r       io.Reader
	max, n  int64
	h       hash.Hash
	want    []byte
	err     error
	readErr error
}

// Read fills p whole unless the body ends or fails first: the object
// store makes a chunk (a message) of each read, and a network body
// returns a few KiB at a time.
func (g *guardReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	// Not io.ReadFull: it turns an EOF after a part into
	// io.ErrUnexpectedEOF, which is what a truncated body says.
	n, err := 0, error(nil)
	for n < len(p) && err == nil {
		var k int
		k, err = g.r.Read(p[n:])
		n += k
	}
	g.n += int64(n)
	if g.max > 0 && g.n > g.max {
		g.err = conveyor.Errorf(conveyor.ETOOLARGE, "the file is over the limit of %d bytes (files.max_size)", g.max)
		return 0, g.err
	}
	if g.h != nil {
		g.h.Write(p[:n])
	}
	if err == io.EOF && g.h != nil && !bytes.Equal(g.h.Sum(nil), g.want) {
		g.err = conveyor.Errorf(conveyor.EINVALID, "the body's sha-256 is %s, not %s as its Content-Digest says", hex.EncodeToString(g.h.Sum(nil)), hex.EncodeToString(g.want))
		return 0, g.err
	}
	if err != nil && err != io.EOF {
		g.readErr = err
	}
	return n, err
}

// fileInfo converts the object store's description of a file.
func fileInfo(info *jetstream.ObjectInfo, retention time.Duration) (FileInfo, error) {
	sum, err := jetstream.DecodeObjectDigest(info.Digest)
	if err != nil && info.Size > 0 {
		return FileInfo{}, fmt.Errorf("file %s: digest %q: %w", info.Name, info.Digest, err)
	}
	if info.Size == 0 {
		s := sha256.Sum256(nil)
		sum = s[:]
	}
	created := info.ModTime.UTC()
	if id, err := ulid.ParseStrict(info.Name); err == nil {
		created = ulid.Time(id.Time()).UTC()
	}
	return FileInfo{
		ID:          info.Name,
		Tenant:      info.Metadata[fileTenantKey],
		Job:         info.Metadata[fileJobKey],
		Name:        info.Metadata[fileNameKey],
		ContentType: info.Metadata[fileTypeKey],
		Size:        int64(info.Size),
		SHA256:      hex.EncodeToString(sum),
		Created:     created,
		ExpiresAt:   created.Add(retention),
	}, nil
}

// StatFile returns what the file with id is. It returns ENOTFOUND when
// there is none (never stored, expired, or removed).
func (b *Broker) StatFile(ctx context.Context, id string) (FileInfo, error) {
	if !validKey(id) {
		return FileInfo{}, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	info, err := b.files.obs.GetInfo(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return FileInfo{}, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	if err != nil {
		return FileInfo{}, unavailable("read file", err)
	}
	fi, err := fileInfo(info, b.cfg.Retention)
	if err == nil && time.Now().After(fi.ExpiresAt) {
		// Its chunks are expiring: it is gone, whatever is left of it.
		return FileInfo{}, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	return fi, err
}

// ReadFile returns the content of the file with id from offset on, a
// chunk at a time as it is read, with a few chunks read ahead. Close it
// when done. It returns ENOTFOUND when there is no such file. A read of
// the whole file fails at the end if its digest is not the file's.
// Reading from an offset reads and drops what comes before it: the object
// store cannot start a file midway.
func (b *Broker) ReadFile(ctx context.Context, id string, offset int64) (io.ReadCloser, error) {
	if !validKey(id) {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	info, err := b.files.obs.GetInfo(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	if err != nil {
		return nil, unavailable("read file", err)
	}
	rc, err := b.openObject(ctx, info, offset)
	if err != nil {
		return nil, unavailable("read file", err)
	}
	return rc, nil
}

// DeleteFile removes the file with id, its chunks and its description.
// It returns ENOTFOUND when there is none.
func (b *Broker) DeleteFile(ctx context.Context, id string) error {
	if !validKey(id) {
		return conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	err := b.files.obs.Delete(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	if err != nil {
		return unavailable("delete file", err)
	}
	// Delete purges the chunks and leaves a marker, the description
	// saying "deleted", until the retention: nothing need stay.
	meta := fmt.Sprintf("$O.%s.M.%s", FilesBucket, base64.URLEncoding.EncodeToString([]byte(id)))
	if err := b.files.stream.Purge(ctx, jetstream.WithPurgeSubject(meta)); err != nil {
		return unavailable("delete file", err)
	}
	return nil
}

// FilesStored returns how many messages (chunks and descriptions) and
// bytes the object store of files holds: what a refused upload must not
// add to.
func (b *Broker) FilesStored(ctx context.Context) (msgs, bytes uint64, err error) {
	st, err := b.files.obs.Status(ctx)
	if err != nil {
		return 0, 0, unavailable("read files", err)
	}
	s := st.(*jetstream.ObjectBucketStatus).StreamInfo().State
	return s.Msgs, s.Bytes, nil
}

// digestOf decodes a base64 SHA-256 (standard or URL alphabet, padded
// or not) as a client may send it.
func digestOf(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b, nil
		}
	}
	return nil, errors.New("not a base64 SHA-256")
}

// ParseContentDigest returns the SHA-256 a request's Content-Digest
// (RFC 9530: sha-256=:<base64>:) or legacy Digest (RFC 3230:
// SHA-256=<base64>) header gives, or nil when neither names sha-256.
// Other algorithms are ignored. It returns EINVALID for a sha-256 value
// that is not one.
func ParseContentDigest(contentDigest, digest string) ([]byte, error) {
	for _, h := range []struct {
		v     string
		colon bool
	}{{contentDigest, true}, {digest, false}} {
		for item := range strings.SplitSeq(h.v, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(alg), "sha-256") {
				continue
			}
			val = strings.TrimSpace(val)
			if h.colon {
				val = strings.TrimSuffix(strings.TrimPrefix(val, ":"), ":")
			}
			sum, err := digestOf(val)
			if err != nil {
				return nil, conveyor.Errorf(conveyor.EINVALID, "the sha-256 of the Content-Digest header is not a base64 SHA-256 digest")
			}
			return sum, nil
		}
	}
	return nil, nil
}
