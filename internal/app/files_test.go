package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
)

// uploadFile posts data to /v1/files and returns the file.
func (s *server) uploadFile(data []byte) conveyor.FileInfo {
	s.t.Helper()
	resp, err := httpClient.Post(s.base+"/v1/files", "text/csv", bytes.NewReader(data))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var fi conveyor.FileInfo
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("upload: %d %s", resp.StatusCode, readAll(s.t.(*testing.T), resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(&fi); err != nil {
		s.t.Fatal(err)
	}
	return fi
}

// filesumConfig is testConfig with the filesum exec script, which hashes
// the file its input references.
func filesumConfig(t *testing.T) config.Config {
	cfg := testConfig(t, t.TempDir())
	script, err := filepath.Abs("testdata/filesum.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{Name: "filesum"}, execkind.Options{Command: []string{testenv.Python(t), script}}))
	cfg.WithDefaults()
	return cfg
}

// TestExecReadsFile: an exec job whose input references an uploaded file
// reads a local read-only copy of it at the path the runner adds, and
// the copy is gone once the job is.
func TestExecReadsFile(t *testing.T) {
	s := startServer(t, filesumConfig(t))

	data := make([]byte, 2<<20+333) // several chunks
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	fi := s.uploadFile(data)
	j := s.submit(map[string]any{"algorithm": "filesum", "input": map[string]any{"data": map[string]string{"$file": fi.ID}}}, "", http.StatusAccepted)
	j = s.wait(j.ID)
	if j.Status != conveyor.StatusSucceeded {
		t.Fatalf("job %s: %+v", j.Status, j.Error)
	}
	var out struct {
		SHA256 string        `json:"sha256"`
		Size   int64         `json:"size"`
		Mode   string        `json:"mode"`
		Ref    conveyor.File `json:"ref"`
	}
	if err := json.Unmarshal(j.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.SHA256 != hex.EncodeToString(sum[:]) || out.Size != int64(len(data)) || out.Mode != "0o400" {
		t.Errorf("the job read %+v, want sha256 %x, %d bytes, mode 0o400", out, sum, len(data))
	}
	if r := out.Ref; r.ID != fi.ID || r.Size != fi.Size || r.SHA256 != fi.SHA256 || r.ContentType != "text/csv" || r.Path == "" {
		t.Errorf("the job saw the reference %+v", r)
	}
	if _, err := os.Stat(out.Ref.Path); !os.IsNotExist(err) {
		t.Errorf("the local copy %s is still there after the job: %v", out.Ref.Path, err)
	}
	if _, err := os.Stat(filepath.Dir(out.Ref.Path)); !os.IsNotExist(err) {
		t.Errorf("the copy's directory is still there after the job: %v", err)
	}
	// The record keeps the reference as submitted, not the local path.
	if !bytes.Contains(j.Input, []byte(`{"$file":"`+fi.ID+`"}`)) {
		t.Errorf("stored input %s", j.Input)
	}

	// The synchronous path reads it too.
	var called struct {
		SHA256 string `json:"sha256"`
	}
	resp := s.do("POST", "/v1/algorithms/filesum/run", map[string]any{"data": map[string]string{"$file": fi.ID}}, &called)
	if resp.StatusCode != 200 || called.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("run: %d %+v", resp.StatusCode, called)
	}

	// A schedule's input is checked as a submit's: a file that is there
	// makes it, one that is not is a 400 at its pointer.
	if resp := s.do("POST", "/v1/schedules", map[string]any{"name": "sums", "algorithm": "filesum", "every": "1h",
		"input": map[string]any{"data": map[string]string{"$file": fi.ID}}}, nil); resp.StatusCode != 201 {
		t.Errorf("a schedule with a file: %d", resp.StatusCode)
	}
	resp = s.do("POST", "/v1/schedules", map[string]any{"name": "nosums", "algorithm": "filesum", "every": "1h",
		"input": map[string]any{"data": map[string]string{"$file": "01J00000000000000000000000"}}}, nil)
	if p := problem(t, resp); resp.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/input/data" {
		t.Errorf("a schedule with an unknown file: %d %+v, want 400 at /input/data", resp.StatusCode, p)
	}
}

// TestPythonWorkerFile: a Python handler whose parameter is annotated
// conveyor.File announces a reference object as its schema, and reads the
// local copy the runner made, through File.open; the Python client
// uploads the file and downloads it back.
func TestPythonWorkerFile(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/filemod.py") // so that go test's cache sees it
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = []config.Algorithm{pyWorker(python, dir, "filemod", config.Algorithm{Workers: config.Workers{Max: 1}})}
	cfg.WithDefaults()
	s := startServer(t, cfg)

	var alg conveyor.AlgorithmInfo
	s.do("GET", "/v1/algorithms/digest", nil, &alg)
	if !bytes.Contains(alg.InputSchema, []byte(`"required":["$file"]`)) {
		t.Errorf("digest's input schema %s: want data a reference object", alg.InputSchema)
	}

	src := filepath.Join(t.TempDir(), "data.bin")
	data := make([]byte, 1<<20+77)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	back := filepath.Join(t.TempDir(), "back.bin")
	script := fmt.Sprintf(`
import conveyor, json
c = conveyor.Client(%q)
f = c.upload(%q, content_type="application/x-test")
assert f["size"] == %d and f["sha256"] == %q, f
out = c.result("digest", {"data": conveyor.File(f["id"]).ref()}, timeout=60)
print("OUT " + json.dumps(out))
assert c.download(f["id"], %q) == f["size"]
try:
    c.submit("digest", {"data": {"$file": "01J00000000000000000000000"}})
except conveyor.APIError as e:
    print("REFUSED", e.status, e.problem["errors"][0]["pointer"])
`, s.base, src, len(data), hex.EncodeToString(sum[:]), back)
	out, err := runPythonClient(t, script)
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	_, line, _ := strings.Cut(out, "OUT ")
	line, _, _ = strings.Cut(line, "\n")
	var got struct {
		SHA256   string `json:"sha256"`
		Given    string `json:"given_sha256"`
		Read     int64  `json:"read"`
		Size     int64  `json:"size"`
		Path     string `json:"path"`
		Writable bool   `json:"writable"`
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.SHA256 != hex.EncodeToString(sum[:]) || got.Given != got.SHA256 || got.Read != int64(len(data)) || got.Size != got.Read || got.Writable {
		t.Errorf("the handler saw %+v", got)
	}
	if _, err := os.Stat(got.Path); !os.IsNotExist(err) {
		t.Errorf("the local copy %s outlived the job: %v", got.Path, err)
	}
	if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, data) {
		t.Errorf("downloaded copy differs (%v)", err)
	}
	if !strings.Contains(out, "REFUSED 400 /data") {
		t.Errorf("an unknown file was not refused at /data:\n%s", out)
	}
}

// TestGoClientFile: the Go client uploads a file, streamed, and downloads
// it back; an unknown id is a 404 APIError.
func TestGoClientFile(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 700<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "in.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := c.UploadFile(t.Context(), path, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if fi.Size != int64(len(data)) || fi.SHA256 != hex.EncodeToString(sum[:]) || fi.ContentType != "application/octet-stream" {
		t.Errorf("uploaded %+v", fi)
	}
	// Of unknown length: sent chunked.
	fi2, err := c.Upload(t.Context(), io.MultiReader(bytes.NewReader(data)), client.UploadOptions{ContentType: "text/csv"})
	if err != nil || fi2.SHA256 != fi.SHA256 || fi2.ContentType != "text/csv" {
		t.Errorf("chunked upload: %+v %v", fi2, err)
	}
	var back bytes.Buffer
	if n, err := c.Download(t.Context(), fi.ID, &back); err != nil || n != int64(len(data)) || !bytes.Equal(back.Bytes(), data) {
		t.Errorf("download: %d bytes, %v", n, err)
	}
	_, err = c.Download(t.Context(), "01J00000000000000000000000", io.Discard)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("unknown file: %v, want a 404", err)
	}
}

// TestFileKeptWhileReferenced: a file a job references is kept while the
// job is retained — past the retention from its upload, when the job came
// later — while a file no job references goes at the retention from its
// upload. The sweep is run as if a retention had passed.
func TestFileKeptWhileReferenced(t *testing.T) {
	s := startServer(t, filesumConfig(t))
	b := s.app.broker
	retention := b.Config().Retention

	used, unused := s.uploadFile([]byte("a,b\n1,2\n")), s.uploadFile([]byte("x\n"))
	j := s.submit(map[string]any{"algorithm": "filesum", "input": map[string]any{"data": map[string]string{"$file": used.ID}}}, "", http.StatusAccepted)
	if j = s.wait(j.ID); j.Status != conveyor.StatusSucceeded {
		t.Fatalf("job: %s %+v", j.Status, j.Error)
	}
	fi, err := b.StatFile(t.Context(), used.ID)
	if err != nil || fi.ExpiresAt.Before(j.FinishedAt.Add(retention)) {
		t.Fatalf("a referenced file expires at %v (%v), before its job's record (%v)", fi.ExpiresAt, err, j.FinishedAt.Add(retention))
	}
	// A retention from the uploads later, with the job's record still
	// there (it was written after the uploads).
	n, err := b.SweepFiles(t.Context(), used.ExpiresAt.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("sweep: removed %d (%v), want the unreferenced file", n, err)
	}
	if _, err := b.StatFile(t.Context(), unused.ID); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("the unreferenced file after the sweep: %v, want it gone", err)
	}
	// The job can run again: its file is there.
	var again conveyor.Job
	if resp := s.do("POST", "/v1/jobs/"+j.ID+"/retry", nil, &again); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry of the job whose file was kept: %d", resp.StatusCode)
	}
	if got := s.wait(again.ID); got.Status != conveyor.StatusSucceeded {
		t.Fatalf("retried job: %s %+v", got.Status, got.Error)
	}
}
