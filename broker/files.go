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
	"maps"
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
	// fileKeepKey is when the file expires (RFC 3339): the retention
	// after it was stored, moved later by KeepFile for the jobs that
	// reference it. A file stored before it was kept has its id's time
	// plus the retention.
	fileKeepKey = "conveyor-keep-until"
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

// ensureFiles creates the object store of uploaded files, replicated as
// the job records are, or updates it if it is configured otherwise. The
// bucket does not expire its files by age: a file lives until its keep
// time (see KeepFile), and SweepFiles removes it after that.
func (b *Broker) ensureFiles(ctx context.Context) error {
	want := jetstream.ObjectStoreConfig{
		Bucket:      FilesBucket,
		Description: "Conveyor uploaded files, object name = file id, metadata: tenant, content type and keep-until",
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
		Metadata: map[string]string{fileTenantKey: opt.Tenant, fileTypeKey: ct, fileKeepKey: keepTime(time.Now().Add(b.cfg.Retention))},
		Opts:     &jetstream.ObjectMetaOptions{ChunkSize: fileChunk},
	}
	if opt.Job != "" {
		meta.Metadata[fileJobKey], meta.Metadata[fileNameKey] = opt.Job, opt.Name
		// The job's record is written after its artifacts, and archived
		// a little later still: the artifact outlives it.
		meta.Metadata[fileKeepKey] = keepTime(time.Now().Add(b.cfg.Retention + b.keepSlack()))
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
	expires := created.Add(retention)
	if t, err := time.Parse(time.RFC3339, info.Metadata[fileKeepKey]); err == nil {
		expires = t.UTC()
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
		ExpiresAt:   expires,
	}, nil
}

// keepTime is t as the keep-until metadata holds it: RFC 3339 to the
// second, rounded up.
func keepTime(t time.Time) string {
	return t.Add(time.Second - 1).Truncate(time.Second).UTC().Format(time.RFC3339)
}

// keepSlack is how much later than asked KeepFile keeps a file: a job's
// record outlives its last write by a little more than the retention (it
// is archived a few seconds later), and the many jobs that reference one
// file in a row write its description once in a while, not once each.
// An hour, or the retention when shorter.
func (b *Broker) keepSlack() time.Duration { return min(time.Hour, b.cfg.Retention) }

// KeepFile keeps the file fi until keepSlack past until: a job that
// references it was accepted, or ended, and its record lives until about
// until. It writes the file's description only when less than half the
// slack is left past until. A file gone meanwhile is ENOTFOUND.
func (b *Broker) KeepFile(ctx context.Context, fi FileInfo, until time.Time) error {
	if !fi.ExpiresAt.Before(until.Add(b.keepSlack() / 2)) {
		return nil
	}
	info, err := b.files.obs.GetInfo(ctx, fi.ID)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", fi.ID)
	}
	if err != nil {
		return unavailable("keep file", err)
	}
	meta := info.ObjectMeta
	meta.Metadata = maps.Clone(meta.Metadata)
	if meta.Metadata == nil {
		meta.Metadata = map[string]string{}
	}
	meta.Metadata[fileKeepKey] = keepTime(until.Add(b.keepSlack()))
	if err := b.files.obs.UpdateMeta(ctx, fi.ID, meta); err != nil {
		if errors.Is(err, jetstream.ErrUpdateMetaDeleted) {
			return conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", fi.ID)
		}
		return unavailable("keep file", err)
	}
	return nil
}

// SweepFiles removes the files (uploads and artifacts) whose keep time
// passed before now, and returns how many it removed. It reads the
// description of every file: its cost follows the files stored, not the
// jobs. Several processes may sweep at once: a file removed by another
// meanwhile is skipped.
func (b *Broker) SweepFiles(ctx context.Context, now time.Time) (int, error) {
	infos, err := b.files.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("list files", err)
	}
	removed := 0
	for _, info := range infos {
		fi, err := fileInfo(info, b.cfg.Retention)
		if err != nil || !now.After(fi.ExpiresAt) {
			continue
		}
		switch err := b.DeleteFile(ctx, fi.ID); {
		case err == nil:
			removed++
		case conveyor.ErrorCode(err) != conveyor.ENOTFOUND:
			return removed, err
		}
	}
	return removed, nil
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
