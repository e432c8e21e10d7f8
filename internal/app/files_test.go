package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
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

// TestExecReadsFile: an exec job whose input references an uploaded file
// reads a local read-only copy of it at the path the runner adds, and
// the copy is gone once the job is.
func TestExecReadsFile(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	script, err := filepath.Abs("testdata/filesum.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Algorithms = append(cfg.Algorithms, config.Algorithm{Name: "filesum", Kind: "exec", Command: []string{testenv.Python(t), script}})
	cfg.WithDefaults()
	s := startServer(t, cfg)

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
}
