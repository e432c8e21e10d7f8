package broker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

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

// chunkSize is the size of a file's chunks (the object store's default),
// and putWindow how many may be in flight unacknowledged: what an upload
// holds in memory is about their product, whatever the file's size.
const (
	chunkSize = 128 << 10
	putWindow = 16
)

// PutFile stores what r holds as file id of tenant, streamed in chunks.
// More than max bytes is ErrTooLarge, and a read error (the client gone)
// is returned as is: in both cases nothing is kept.
//
// It writes the object store's own layout (chunks on $O.<bucket>.C.<nuid>,
// then the object's info on $O.<bucket>.M.<name>, as nats.go's Put does),
// but with at most putWindow chunks unacknowledged: Put sends as fast as
// it reads, so a fast client's upload piles up in the connection's buffer.
func (b *Broker) PutFile(ctx context.Context, id, tenant, contentType string, r io.Reader, max int64) (*File, error) {
	if _, err := b.files(ctx); err != nil {
		return nil, err
	}
	h := sha256.New()
	lr := &limitReader{r: r, left: max}
	object := nuid.Next()
	chunkSubj := "$O." + FilesBucket + ".C." + object
	purge := func() {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
		defer cancel()
		if st, err := b.js.Stream(pctx, "OBJ_"+FilesBucket); err == nil {
			_ = st.Purge(pctx, jetstream.WithPurgeSubject(chunkSubj))
		}
	}
	var (
		window []jetstream.PubAckFuture
		size   int64
		chunks uint32
	)
	settle := func(keep int) error {
		for len(window) > keep {
			select {
			case <-window[0].Ok():
			case err := <-window[0].Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(attemptTimeout):
				return errors.New("no acknowledgement in time")
			}
			window = window[1:]
		}
		return nil
	}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := io.ReadFull(lr, buf)
		if n > 0 {
			h.Write(buf[:n])
			m := nats.NewMsg(chunkSubj)
			m.Data = buf[:n] // copied into the connection's buffer as it is published
			f, err := b.js.PublishMsgAsync(m)
			if err == nil {
				window = append(window, f)
				err = settle(putWindow - 1)
			}
			if err != nil {
				purge()
				return nil, unavailable("store the file", err)
			}
			size += int64(n)
			chunks++
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			purge()
			if lr.over {
				return nil, ErrTooLarge
			}
			return nil, rerr
		}
	}
	if err := settle(0); err != nil {
		purge()
		return nil, unavailable("store the file", err)
	}
	info := jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: id, Metadata: map[string]string{"tenant": tenant, "content_type": contentType},
			Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize}},
		Bucket: FilesBucket, NUID: object, Size: uint64(size), Chunks: chunks, Digest: jetstream.GetObjectDigestValue(h),
	}
	data, err := json.Marshal(info)
	if err != nil {
		purge()
		return nil, err
	}
	mm := nats.NewMsg("$O." + FilesBucket + ".M." + base64.URLEncoding.EncodeToString([]byte(id)))
	mm.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	mm.Data = data
	if err := b.retry(ctx, func(ctx context.Context) error { _, err := b.js.PublishMsg(ctx, mm); return err }); err != nil {
		purge()
		return nil, unavailable("store the file", err)
	}
	info.ModTime = time.Now().UTC()
	return fileOf(&info, hexOf(h), b.cfg.Retention), nil
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
	info, err := b.fileInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	return fileOf(info, "", b.cfg.Retention), nil
}

// fileInfo reads the object store's info of file id; ENOTFOUND when there
// is none.
func (b *Broker) fileInfo(ctx context.Context, id string) (*jetstream.ObjectInfo, error) {
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
	return info, nil
}

// OpenFile returns file id's content, streamed; close it when done. It
// reads the chunks with a pull of a few at a time, so that a slow reader
// holds up the broker rather than piling the file up in memory (the
// object store's Get pushes every chunk at once).
func (b *Broker) OpenFile(ctx context.Context, id string) (io.ReadCloser, error) {
	info, err := b.fileInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	if info.Size == 0 {
		_ = pw.Close()
		return pr, nil
	}
	cons, err := b.js.OrderedConsumer(ctx, "OBJ_"+FilesBucket, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"$O." + FilesBucket + ".C." + info.NUID},
	})
	if err != nil {
		return nil, unavailable("read the file", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(putWindow))
	if err != nil {
		return nil, unavailable("read the file", err)
	}
	go func() {
		defer it.Stop()
		var got uint64
		for got < info.Size {
			m, err := it.Next()
			if err != nil {
				_ = pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(m.Data()); err != nil {
				return // the reader closed
			}
			got += uint64(len(m.Data()))
		}
		_ = pw.Close()
	}()
	return fileReader{pr, it}, nil
}

// fileReader is a file's content as OpenFile streams it: closing it
// stops the pull too.
type fileReader struct {
	*io.PipeReader
	it jetstream.MessagesContext
}

func (f fileReader) Close() error {
	f.it.Stop()
	return f.PipeReader.Close()
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
