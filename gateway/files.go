package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// uploadPath is where files are uploaded: the one POST whose body need
// not be JSON (see checkJSONBody).
const uploadPath = "/v1/files"

// DefaultMaxFileSize is Config.MaxFileSize's default: 5 GiB.
const DefaultMaxFileSize = 5 << 30

// DefaultMaxBody is Config.MaxBody's default: 10 MiB.
const DefaultMaxBody = 10 << 20

// handleUpload is POST /v1/files: the body, of any type and of any length
// up to MaxFileSize, is streamed into the broker's object store a chunk at
// a time, and the answer is 201 with the file's id, size, sha256, content
// type and expiry. Past the limit 413; with a Content-Digest (or Digest)
// whose sha-256 is not the body's, 400; either way, as when the client
// hangs up midway, nothing is kept. The file belongs to the request's
// tenant: others get 404 for it.
func (g *Gateway) handleUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if g.cfg.Storage != nil {
		if err := g.cfg.Storage(ctx); err != nil {
			g.writeError(w, r, err)
			return
		}
	}
	max := g.cfg.MaxFileSize
	if r.ContentLength > max {
		// Refused before any of it is read (see readBody).
		g.writeError(w, r, tooLarge(max))
		return
	}
	sum, err := broker.ParseContentDigest(r.Header.Get("Content-Digest"), r.Header.Get("Digest"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	tenant, all := tenantOf(ctx)
	if all {
		tenant = ""
	}
	body := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: g.cfg.BodyTimeout}
	fi, err := g.b.StoreFile(ctx, body, broker.PutFile{Tenant: tenant, ContentType: r.Header.Get("Content-Type"), MaxSize: max, SHA256: sum})
	switch {
	case body.timedOut:
		g.writeError(w, r, conveyor.Errorf(conveyor.ESLOW, "no byte of the file came for %s", g.cfg.BodyTimeout))
		return
	case conveyor.ErrorCode(err) == conveyor.ETOOLARGE:
		g.writeError(w, r, tooLarge(max))
		return
	case err != nil && ctx.Err() != nil:
		return // the client is gone; so is what it sent
	case err != nil && body.err != nil:
		g.log.Debug("upload: reading the body failed", "err", body.err)
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "the request body ended early"))
		return
	case err != nil:
		g.writeError(w, r, err)
		return
	}
	body.done()
	w.Header().Set("Location", uploadPath+"/"+fi.ID)
	writeJSON(w, http.StatusCreated, fileJSON(fi))
}

// tooLarge is the error of a file over max bytes.
func tooLarge(max int64) error {
	return conveyor.Errorf(conveyor.ETOOLARGE, "the file is over the limit of %d bytes (files.max_size)", max)
}

// fileJSON is a file as the API shows it.
func fileJSON(fi broker.FileInfo) conveyor.FileInfo {
	return conveyor.FileInfo{ID: fi.ID, Size: fi.Size, SHA256: fi.SHA256, ContentType: fi.ContentType, ExpiresAt: fi.ExpiresAt}
}

// handleDownload is GET (and HEAD) /v1/files/{id}: the file, streamed
// from the object store, with Range (206), ETag (its sha256) and the
// conditional requests http.ServeContent answers. A file of another
// tenant is a 404, as is one that expired.
func (g *Gateway) handleDownload(w http.ResponseWriter, r *http.Request) {
	fi, err := g.statFile(r.Context(), r.PathValue("id"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	g.serveFile(w, r, fi, "")
}

// serveFile answers with the file fi, named filename ("": no name) in its
// Content-Disposition.
func (g *Gateway) serveFile(w http.ResponseWriter, r *http.Request, fi broker.FileInfo, filename string) {
	h := w.Header()
	h.Set("ETag", `"`+fi.SHA256+`"`)
	h.Set("Content-Type", fi.ContentType)
	h.Set("Cache-Control", "private, no-cache")
	// An uploaded page must not run as this origin's: it is a download.
	disposition := "attachment"
	if filename != "" {
		if d := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); d != "" {
			disposition = d
		}
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Repr-Digest", "sha-256=:"+base64Hex(fi.SHA256)+":")
	f := &fileReader{ctx: r.Context(), b: g.b, id: fi.ID, size: fi.Size}
	defer f.Close()
	http.ServeContent(w, r, "", fi.Created, f)
}

// statFile returns the file with id if the request's tenant may see it;
// ENOTFOUND otherwise, as for no such file.
func (g *Gateway) statFile(ctx context.Context, id string) (broker.FileInfo, error) {
	fi, err := g.b.StatFile(ctx, id)
	if err != nil {
		return broker.FileInfo{}, err
	}
	if tenant, all := tenantOf(ctx); !all && fi.Tenant != tenant {
		return broker.FileInfo{}, conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", id)
	}
	return fi, nil
}

// fileReader is an io.ReadSeeker over a file of the object store for
// http.ServeContent: a seek only moves the offset, and the next read
// opens the file there.
type fileReader struct {
	ctx  context.Context
	b    *broker.Broker
	id   string
	size int64
	pos  int64
	rc   io.ReadCloser // reading at pos; nil until the next read
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if f.rc == nil {
		rc, err := f.b.ReadFile(f.ctx, f.id, f.pos)
		if err != nil {
			return 0, err
		}
		f.rc = rc
	}
	n, err := f.rc.Read(p)
	f.pos += int64(n)
	return n, err
}

func (f *fileReader) Seek(offset int64, whence int) (int64, error) {
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = f.pos + offset
	case io.SeekEnd:
		pos = f.size + offset
	}
	if pos < 0 {
		return 0, errors.New("seek before the start of the file")
	}
	if f.rc != nil && pos != f.pos {
		f.rc.Close()
		f.rc = nil
	}
	f.pos = pos
	return pos, nil
}

// Close closes what the last read opened.
func (f *fileReader) Close() error {
	if f.rc != nil {
		f.rc.Close()
		f.rc = nil
	}
	return nil
}

// base64Hex is the base64 of the bytes that the hex string h spells.
func base64Hex(h string) string {
	b, _ := hex.DecodeString(h)
	return base64.StdEncoding.EncodeToString(b)
}

// idleReader reads a request body whose whole may take long to arrive (a
// file of gigabytes) but that must not stall: each read has idle to bring
// something, else it fails and timedOut is set. err is the body's own
// error, if any.
type idleReader struct {
	r        io.Reader
	rc       *http.ResponseController
	idle     time.Duration
	set      time.Time // when the deadline was last moved
	timedOut bool
	err      error
}

func (b *idleReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.set) > time.Second {
		// Moved at most once a second: each read is a few dozen KiB.
		if b.rc.SetReadDeadline(now.Add(b.idle)) == nil {
			b.set = now
		}
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.timedOut = true
		}
	}
	return n, err
}

// done lifts the read deadline once the body is read.
func (b *idleReader) done() {
	if !b.set.IsZero() {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}
