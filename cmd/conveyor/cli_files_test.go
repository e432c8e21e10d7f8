package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const uploadedFile = `{"id":"F1","size":8,"sha256":"ab","content_type":"text/csv","expires_at":"2026-12-12T00:00:00Z"}`

// TestUpload: upload sends the file's bytes with the type of its
// extension and prints the id alone when piped.
func TestUpload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ct string
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/files": func(w http.ResponseWriter, r *http.Request) {
		ct = r.Header.Get("Content-Type")
		reply(201, uploadedFile)(w, r)
	}})
	got := runCLI(t, f, "upload", path)
	if got.code != 0 || got.stdout != "F1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].Body != "a,b\n1,2\n" || !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("requests %+v, content type %q", reqs, ct)
	}
	if got := runCLI(t, f, "upload", filepath.Join(t.TempDir(), "nope")); got.code != 1 || !strings.Contains(got.stderr, "nope") {
		t.Errorf("missing file: exit %d, stderr %q", got.code, got.stderr)
	}
}

// TestSubmitFile: submit --file uploads each file first, then submits
// the input with the references at their names.
func TestSubmitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/files": reply(201, uploadedFile), "POST /v1/jobs": reply(202, queuedJob)})
	got := runCLI(t, f, "submit", "train", "--data", `{"epochs":3}`, "--file", "data=@"+path, "--file", "/more/x=@"+path)
	if got.code != 0 {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	reqs := f.requests()
	want := `{"algorithm":"train","input":{"data":{"$file":"F1"},"epochs":3,"more":{"x":{"$file":"F1"}}}}`
	if len(reqs) != 3 || reqs[0].Path != "/v1/files" || reqs[2].Path != "/v1/jobs" || reqs[2].Body != want {
		t.Errorf("requests %+v\nwant two uploads, then a submit of %s", reqs, want)
	}
	if got := runCLI(t, f, "submit", "train", "--file", "data"); got.code != 2 || !strings.Contains(got.stderr, "NAME=@PATH") {
		t.Errorf("bad --file: exit %d, stderr %q", got.code, got.stderr)
	}
}
