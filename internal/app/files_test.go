package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// objects counts the files the broker's object store keeps.
func (s *server) objects(t *testing.T) int {
	t.Helper()
	store, err := s.app.broker.JetStream().ObjectStore(t.Context(), broker.FilesBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List(t.Context())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func upload(t *testing.T, base string, body io.Reader, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/v1/files", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp, out
}

// TestFiles: an upload is streamed into the broker's object store and
// comes back whole, by range, and as headers (HEAD) with its sha256 as
// ETag; over files.max_size it is a 413 and nothing is kept, nor is a
// body whose Content-Digest does not match, nor one cut off midway.
func TestFiles(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Files.MaxSize = config.ByteSize(4 << 20)
	s := startServer(t, cfg)
	data := make([]byte, 3<<20+17)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	resp, f := upload(t, s.base, bytes.NewReader(data), map[string]string{
		"Content-Type": "text/csv", "Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"})
	if resp.StatusCode != 201 || f["sha256"] != hex.EncodeToString(sum[:]) || f["size"] != float64(len(data)) || f["content_type"] != "text/csv" || f["expires_at"] == nil {
		t.Fatalf("upload: %d %v", resp.StatusCode, f)
	}
	id, _ := f["id"].(string)
	if resp.Header.Get("Location") != "/v1/files/"+id {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}

	get := func(method, rng string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, s.base+"/v1/files/"+id, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	if resp, body := get("GET", ""); resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || resp.Header.Get("Content-Type") != "text/csv" {
		t.Errorf("download: %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
	}
	if resp, body := get("GET", "bytes=1000000-1000099"); resp.StatusCode != 206 || !bytes.Equal(body, data[1000000:1000100]) || resp.Header.Get("Content-Range") != "bytes 1000000-1000099/3145745" {
		t.Errorf("range: %d %d bytes %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
	}
	if resp, body := get("GET", "bytes=-10"); resp.StatusCode != 206 || !bytes.Equal(body, data[len(data)-10:]) {
		t.Errorf("suffix range: %d %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := get("GET", "bytes=9999999-"); resp.StatusCode != 400 || resp.Header.Get("Content-Range") != "bytes */3145745" {
		t.Errorf("a range past the end: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	if resp, body := get("HEAD", ""); resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "3145745" {
		t.Errorf("HEAD: %d, %d bytes, length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	if resp := s.do("GET", "/v1/files/01J00000000000000000000000", nil, nil); resp.StatusCode != 404 {
		t.Errorf("an unknown file: %d", resp.StatusCode)
	}

	// Refused: nothing kept.
	big := bytes.Repeat([]byte("x"), 5<<20)
	if resp, _ := upload(t, s.base, bytes.NewReader(big), nil); resp.StatusCode != 413 {
		t.Errorf("over the limit: %d", resp.StatusCode)
	}
	if resp, _ := upload(t, s.base, io.MultiReader(bytes.NewReader(big)), nil); resp.StatusCode != 413 { // chunked: no length
		t.Errorf("over the limit, chunked: %d", resp.StatusCode)
	}
	wrong := sha256.Sum256([]byte("other"))
	if resp, _ := upload(t, s.base, strings.NewReader("hello"), map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(wrong[:]) + ":"}); resp.StatusCode != 400 {
		t.Errorf("a wrong Content-Digest: %d", resp.StatusCode)
	}
	// A client that hangs up midway.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(conn, "POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n")
	_, _ = conn.Write(big[:600000])
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	testenv.Eventually(t, "only the first upload kept", func() bool { return s.objects(t) == 1 })
}
