package gateway

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// DefaultMaxFileSize is Config.MaxFileSize's default.
const DefaultMaxFileSize = 5 << 30

// handleUpload is POST /v1/files: the raw body, of any type, streamed
// into the broker's object store → 201 with the file's id, size, sha256,
// content type and expiry. Past files.max_size: 413, nothing kept (one
// with a Content-Length over it before a byte is read). A client that
// hangs up mid-upload leaves nothing. A Content-Digest (sha-256) that does
// not match: 400, nothing kept. The body may pause for BodyTimeout at
// most between reads.
func (g *Gateway) handleUpload(w http.ResponseWriter, r *http.Request) {
	max := g.cfg.MaxFileSize
	if r.ContentLength > max {
		g.writeError(w, r, conveyor.Errorf(conveyor.ETOOLARGE, "the file is %d bytes, over files.max_size (%d)", r.ContentLength, max))
		return
	}
	want, err := contentDigest(r.Header.Get("Content-Digest"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	tenant, _ := tenantOf(r.Context())
	if err := g.mayTake(r.Context(), "", 0); err != nil { // room on disk
		g.writeError(w, r, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	body := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: g.cfg.BodyTimeout}
	f, err := g.b.PutFile(r.Context(), ulid.Make().String(), tenant, ct, body, max)
	switch {
	case errors.Is(err, broker.ErrTooLarge):
		g.writeError(w, r, conveyor.Errorf(conveyor.ETOOLARGE, "the file is over files.max_size (%d bytes)", max))
		return
	case err != nil && body.err != nil:
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "the upload did not arrive whole: %v", body.err))
		return
	case err != nil:
		g.writeError(w, r, err)
		return
	}
	if want != "" && want != f.SHA256 {
		_ = g.b.DeleteFile(r.Context(), f.ID)
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "Content-Digest says sha-256 %s, the body's is %s: nothing kept", want, f.SHA256))
		return
	}
	w.Header().Set("Location", "/v1/files/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
}

// contentDigest returns the hex SHA-256 a Content-Digest header (RFC
// 9530: sha-256=:<base64>:) gives, "" without one.
func contentDigest(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	for _, part := range strings.Split(h, ",") {
		alg, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(alg, "sha-256") {
			continue
		}
		sum, err := base64.StdEncoding.DecodeString(strings.Trim(v, ":"))
		if err != nil || len(sum) != 32 {
			return "", conveyor.Errorf(conveyor.EINVALID, "Content-Digest: sha-256 must be :<base64 of 32 bytes>:, not %q", v)
		}
		return hex.EncodeToString(sum), nil
	}
	return "", conveyor.Errorf(conveyor.EINVALID, "Content-Digest: only sha-256 is checked, and it has none: %q", h)
}

// idleReader reads a request body, allowing idle at most between two
// reads: an upload may take as long as it needs, as long as it moves.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	err  error // the body's own read error
}

func (b *idleReader) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// handleDownload is GET and HEAD /v1/files/{id}: the file, streamed, with
// its ETag (its sha256) and type; a Range of one span is 206.
func (g *Gateway) handleDownload(w http.ResponseWriter, r *http.Request) {
	f, err := g.b.StatFile(r.Context(), r.PathValue("id"))
	if err == nil {
		if tenant, all := tenantOf(r.Context()); !all && f.Tenant != tenant {
			err = conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", f.ID)
		}
	}
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private, no-cache")
	start, n, partial, ok := byteRange(r.Header.Get("Range"), f.Size)
	if !ok {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", f.Size))
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "Range %q is not one span within the file's %d bytes", r.Header.Get("Range"), f.Size))
		return
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+n-1, f.Size))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	rc, err := g.b.OpenFile(r.Context(), f.ID)
	if err != nil {
		h.Del("Content-Length")
		h.Del("Content-Range")
		g.writeError(w, r, err)
		return
	}
	defer rc.Close()
	w.WriteHeader(status)
	if start > 0 {
		if _, err := io.CopyN(io.Discard, rc, start); err != nil {
			return
		}
	}
	_, _ = io.CopyN(w, rc, n)
}

// byteRange reads a Range header of one span (bytes=a-b, a-, -n) of a
// file of size bytes: the span's start and length, whether it is one,
// and ok false for a span the file cannot give. No header: the whole.
func byteRange(h string, size int64) (start, n int64, partial, ok bool) {
	if h == "" {
		return 0, size, false, true
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	var end int64
	switch {
	case a == "": // the last b bytes
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 {
			return 0, 0, false, false
		}
		start, end = max(size-k, 0), size-1
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s < 0 || s >= size {
			return 0, 0, false, false
		}
		start, end = s, size-1
		if b != "" {
			e, err := strconv.ParseInt(b, 10, 64)
			if err != nil || e < s {
				return 0, 0, false, false
			}
			end = min(e, size-1)
		}
	}
	return start, end - start + 1, true, true
}
