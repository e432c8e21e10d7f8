package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// fileServer is a gateway over a real embedded broker, served on
// loopback.
type fileServer struct {
	t    *testing.T
	b    *broker.Broker
	g    *Gateway
	base string
}

func startFileServer(t *testing.T, cfg Config) *fileServer {
	t.Helper()
	// Registered first, so run last: once the server, the gateway and the
	// broker are stopped, no goroutine of theirs or of a file read is left.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	_, b := brokertest.Open(t)
	cfg.Broker = b
	g := started(t, cfg)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return &fileServer{t: t, b: b, g: g, base: srv.URL}
}

// request sends a request and returns the response with its body read.
func (s *fileServer) request(method, path string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, data
}

// upload sends data to POST /v1/files and returns the file, failing the
// test unless it is a 201.
func (s *fileServer) upload(data []byte, header map[string]string) conveyor.FileInfo {
	s.t.Helper()
	resp, body := s.request("POST", "/v1/files", bytes.NewReader(data), header)
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var fi conveyor.FileInfo
	if err := json.Unmarshal(body, &fi); err != nil {
		s.t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/files/"+fi.ID {
		s.t.Errorf("Location %q, want /v1/files/%s", loc, fi.ID)
	}
	return fi
}

// nothingStored fails the test unless the object store of files is empty.
func (s *fileServer) nothingStored() {
	s.t.Helper()
	msgs, n, err := s.b.FilesStored(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	if msgs != 0 {
		s.t.Errorf("the object store holds %d messages (%d bytes), want none", msgs, n)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFileUploadDownload: a file of several chunks goes in as raw bytes
// of any type and comes back whole, in ranges, and as HEAD, with its
// sha256 as ETag.
func TestFileUploadDownload(t *testing.T) {
	s := startFileServer(t, Config{})
	data := randomBytes(t, 3<<20+12345)
	sum := sha256.Sum256(data)
	fi := s.upload(data, map[string]string{"Content-Type": "text/csv"})
	if fi.Size != int64(len(data)) || fi.SHA256 != hex.EncodeToString(sum[:]) || fi.ContentType != "text/csv" || fi.ExpiresAt.IsZero() {
		t.Fatalf("uploaded %+v, want size %d sha256 %x text/csv", fi, len(data), sum)
	}
	path := "/v1/files/" + fi.ID
	etag := `"` + fi.SHA256 + `"`

	resp, body := s.request("GET", path, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d, %d bytes equal %v", resp.StatusCode, len(body), bytes.Equal(body, data))
	}
	if resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Type") != "text/csv" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("GET headers %v", resp.Header)
	}

	resp, body = s.request("HEAD", path, nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(data)) || resp.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d, %d bytes, length %d, headers %v", resp.StatusCode, len(body), resp.ContentLength, resp.Header)
	}

	for _, c := range []struct {
		rng        string
		start, end int // end exclusive
	}{
		{"bytes=0-99", 0, 100},
		{"bytes=1000000-2500000", 1000000, 2500001}, // across chunks
		{fmt.Sprintf("bytes=%d-", len(data)-5), len(data) - 5, len(data)},
		{"bytes=-7", len(data) - 7, len(data)},
	} {
		resp, body := s.request("GET", path, nil, map[string]string{"Range": c.rng})
		want := fmt.Sprintf("bytes %d-%d/%d", c.start, c.end-1, len(data))
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want || !bytes.Equal(body, data[c.start:c.end]) {
			t.Errorf("Range %s: %d %q (want %q), %d bytes equal %v", c.rng, resp.StatusCode, resp.Header.Get("Content-Range"), want, len(body), bytes.Equal(body, data[c.start:c.end]))
		}
	}
	if resp, _ := s.request("GET", path, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)+1)}); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %d, want 416", resp.StatusCode)
	}
	if resp, _ := s.request("GET", path, nil, map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	if resp, _ := s.request("GET", "/v1/files/01J00000000000000000000000", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown file: %d, want 404", resp.StatusCode)
	}

	// An empty file is a file too.
	empty := s.upload(nil, nil)
	if e := sha256.Sum256(nil); empty.Size != 0 || empty.SHA256 != hex.EncodeToString(e[:]) || empty.ContentType != "application/octet-stream" {
		t.Errorf("empty upload: %+v", empty)
	}
	if resp, body := s.request("GET", "/v1/files/"+empty.ID, nil, nil); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("GET empty: %d %q", resp.StatusCode, body)
	}
}

// TestFileTooLarge: a file over files.max_size is a 413 and leaves nothing
// in the store, whether its Content-Length says so up front or it is sent
// chunked; and http.max_body, far smaller, does not apply to files.
func TestFileTooLarge(t *testing.T) {
	s := startFileServer(t, Config{MaxFileSize: 1 << 20, MaxBody: 1 << 10})
	data := randomBytes(t, 1<<20+1)
	resp, body := s.request("POST", "/v1/files", bytes.NewReader(data), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "files.max_size") {
		t.Errorf("with Content-Length: %d %s, want 413", resp.StatusCode, body)
	}
	// io.MultiReader hides the length: the body goes chunked.
	resp, body = s.request("POST", "/v1/files", io.MultiReader(bytes.NewReader(data)), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d %s, want 413", resp.StatusCode, body)
	}
	s.nothingStored()
	// Exactly the limit is fine.
	fi := s.upload(data[:1<<20], nil)
	if fi.Size != 1<<20 {
		t.Errorf("size %d", fi.Size)
	}
}

// TestFileDigest: a Content-Digest whose sha-256 is not the body's is a
// 400 with nothing kept; the right one is taken, as is the legacy Digest.
func TestFileDigest(t *testing.T) {
	s := startFileServer(t, Config{})
	data := randomBytes(t, 300<<10)
	sum := sha256.Sum256(data)
	wrong := sha256.Sum256([]byte("something else"))
	resp, body := s.request("POST", "/v1/files", bytes.NewReader(data), map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(wrong[:]) + ":"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "sha-256") {
		t.Errorf("wrong digest: %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = s.request("POST", "/v1/files", bytes.NewReader(data), map[string]string{"Content-Digest": "sha-256=:nonsense:"})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed digest: %d %s, want 400", resp.StatusCode, body)
	}
	s.nothingStored()
	s.upload(data, map[string]string{"Content-Digest": "sha-512=:AAAA:, sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"})
	s.upload(data, map[string]string{"Digest": "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])})
}

// TestFileAbort: a client that hangs up midway leaves nothing: the
// chunks stored so far are removed.
func TestFileAbort(t *testing.T) {
	s := startFileServer(t, Config{})
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/v1/files", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 64 << 20 // promised, never sent
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		done <- err
	}()
	chunk := randomBytes(t, 256<<10)
	go func() {
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	testenv.Eventually(t, "chunks stored", func() bool {
		msgs, _, err := s.b.FilesStored(t.Context())
		return err == nil && msgs > 4
	})
	cancel()
	pw.CloseWithError(context.Canceled)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("the upload ended with %v, want it canceled", err)
	}
	testenv.Eventually(t, "the chunks removed", func() bool {
		msgs, _, err := s.b.FilesStored(t.Context())
		return err == nil && msgs == 0
	})
}

// TestFileTenants: a file is its uploader's tenant's: another tenant gets
// 404 for it, an admin gets it; uploads need submit, downloads read.
func TestFileTenants(t *testing.T) {
	tok := func(name, tenant string, scopes ...string) Token {
		return Token{Name: name, SHA256: sha256.Sum256([]byte("secret-" + name)), Scopes: scopes, Tenant: tenant}
	}
	s := startFileServer(t, Config{Tokens: []Token{
		tok("a", "acme", "submit", "read"), tok("b", "bolt", "submit", "read"),
		tok("root", "", "admin"), tok("reader", "acme", "read"),
	}})
	as := func(name string) map[string]string {
		return map[string]string{"Authorization": "Bearer secret-" + name}
	}
	fi := s.upload([]byte("acme's data"), as("a"))
	path := "/v1/files/" + fi.ID
	for _, c := range []struct {
		who    string
		status int
	}{{"a", 200}, {"reader", 200}, {"root", 200}, {"b", 404}} {
		if resp, body := s.request("GET", path, nil, as(c.who)); resp.StatusCode != c.status {
			t.Errorf("GET as %s: %d %s, want %d", c.who, resp.StatusCode, body, c.status)
		}
	}
	if resp, _ := s.request("HEAD", path, nil, as("b")); resp.StatusCode != 404 {
		t.Errorf("HEAD as b: %d, want 404", resp.StatusCode)
	}
	if resp, body := s.request("POST", "/v1/files", strings.NewReader("x"), as("reader")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload with read scope only: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, _ := s.request("GET", path, nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", resp.StatusCode)
	}
}

// TestFileUploadCrossSite: an upload may be of any type, but a browser's
// upload from another site is still refused.
func TestFileUploadCrossSite(t *testing.T) {
	s := startFileServer(t, Config{})
	resp, body := s.request("POST", "/v1/files", strings.NewReader("a,b\n1,2\n"), map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site upload: %d %s, want 403", resp.StatusCode, body)
	}
	resp, body = s.request("POST", "/v1/files", strings.NewReader("a,b\n1,2\n"), map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin upload: %d %s, want 403", resp.StatusCode, body)
	}
	s.nothingStored()
	s.upload([]byte("a,b\n1,2\n"), map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "same-origin"})
	// Other POSTs still need JSON.
	if resp, _ := s.request("POST", "/v1/jobs", strings.NewReader("{}"), map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain submit: %d, want 415", resp.StatusCode)
	}
}

// TestFileRefsChecked: every submit route refuses an input that
// references a file that is unknown or another tenant's, with a 400 whose
// violation points at the reference, and stores nothing.
func TestFileRefsChecked(t *testing.T) {
	tok := func(name, tenant string) Token {
		return Token{Name: name, SHA256: sha256.Sum256([]byte("secret-" + name)), Scopes: []string{"submit", "read"}, Tenant: tenant}
	}
	s := startFileServer(t, Config{Tokens: []Token{tok("a", "acme"), tok("b", "bolt")}})
	s.g.reg.putAlgorithm([]byte(`{"name":"crunch","kind":"exec","input_schema":{"type":"object"}}`))
	as := func(name string) map[string]string {
		return map[string]string{"Authorization": "Bearer secret-" + name, "Content-Type": "application/json"}
	}
	fi := s.upload([]byte("1,2,3\n"), as("a"))
	good := fmt.Sprintf(`{"data":{"$file":%q},"n":1}`, fi.ID)
	unknown := fmt.Sprintf(`{"data":{"$file":%q},"more":[1,{"x":{"$file":"01J00000000000000000000000"}}]}`, fi.ID)

	for _, c := range []struct {
		name, who, method, path, body, pointer string
	}{
		{"unknown id", "a", "POST", "/v1/jobs", `{"algorithm":"crunch","input":` + unknown + `}`, "/more/1/x"},
		{"another tenant's", "b", "POST", "/v1/jobs", `{"algorithm":"crunch","input":` + good + `}`, "/data"},
		{"not a string", "a", "POST", "/v1/jobs", `{"algorithm":"crunch","input":{"d":[{"$file":5}]}}`, "/d/0"},
		{"shorthand", "a", "POST", "/v1/algorithms/crunch/jobs", unknown, "/more/1/x"},
		{"batch", "a", "POST", "/v1/jobs/batch", `{"jobs":[{"algorithm":"crunch","input":` + good + `},{"algorithm":"crunch","input":` + unknown + `}]}`, "/jobs/1/input/more/1/x"},
		{"run", "b", "POST", "/v1/algorithms/crunch/run", good, "/data"},
	} {
		resp, body := s.request(c.method, c.path, strings.NewReader(c.body), as(c.who))
		var p conveyor.Problem
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Pointer != c.pointer {
			t.Errorf("%s: %d %s, want 400 pointing at %s", c.name, resp.StatusCode, body, c.pointer)
		}
	}
	// Nothing was stored: neither tenant has a job.
	for _, who := range []string{"a", "b"} {
		resp, body := s.request("GET", "/v1/jobs", nil, as(who))
		var list conveyor.JobList
		if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 || len(list.Jobs) != 0 {
			t.Errorf("jobs of %s after refusals: %d %s", who, resp.StatusCode, body)
		}
	}
	// The owner's reference is taken.
	resp, body := s.request("POST", "/v1/jobs", strings.NewReader(`{"algorithm":"crunch","input":`+good+`}`), as("a"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit with a good reference: %d %s", resp.StatusCode, body)
	}
}

// interleaving is a reader of data that, after its first chunk, stores
// another file whole: the chunks of the two are then interleaved in the
// stream.
type interleaving struct {
	r      io.Reader
	reads  int
	during func()
}

func (i *interleaving) Read(p []byte) (int, error) {
	if i.reads++; i.reads == 2 {
		i.during()
	}
	return i.r.Read(p)
}

// TestFileRange: ranges of files read right whether their chunks are
// stored one after the other (read from the chunk that holds the start)
// or interleaved with another upload's (read from the first and dropped).
func TestFileRange(t *testing.T) {
	s := startFileServer(t, Config{})
	a, b := randomBytes(t, 1<<20+5000), randomBytes(t, 700<<10)
	var fb broker.FileInfo
	fa, err := s.b.StoreFile(t.Context(), &interleaving{r: bytes.NewReader(a), during: func() {
		var err error
		if fb, err = s.b.StoreFile(t.Context(), bytes.NewReader(b), broker.PutFile{}); err != nil {
			t.Error(err)
		}
	}}, broker.PutFile{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		id   string
		data []byte
	}{{fa.ID, a}, {fb.ID, b}} {
		for _, start := range []int{0, 1, 128 << 10, 128<<10 + 17, 300000, len(f.data) - 1} {
			end := min(start+200000, len(f.data))
			resp, body := s.request("GET", "/v1/files/"+f.id, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", start, end-1)})
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, f.data[start:end]) {
				t.Errorf("file %s bytes %d-%d: %d, %d bytes, equal %v", f.id, start, end-1, resp.StatusCode, len(body), bytes.Equal(body, f.data[start:end]))
			}
		}
	}
}

// TestFileNoRoom: while the disk has no room (the storage check fails),
// an upload is a 507 and nothing is kept.
func TestFileNoRoom(t *testing.T) {
	full := conveyor.Errorf(conveyor.ESTORAGE, "the data dir's disk is full")
	s := startFileServer(t, Config{Storage: func(context.Context) error { return full }})
	resp, body := s.request("POST", "/v1/files", bytes.NewReader(randomBytes(t, 1000)), nil)
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("upload on a full disk: %d %s, want 507", resp.StatusCode, body)
	}
	s.nothingStored()
}
