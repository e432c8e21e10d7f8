package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const jobWithArtifacts = `{"id":"j1","algorithm":"train","status":"succeeded","attempt":1,"max_attempts":3,
	"artifacts":[{"name":"model.bin","file":"F1","size":11,"sha256":"ab12","content_type":"application/octet-stream"},
	{"name":"report.txt","file":"F2","size":3,"sha256":"cd34","content_type":"text/plain; charset=utf-8"}]}`

// TestArtifactsCommand: artifacts lists a job's artifacts, as a table or
// as JSON.
func TestArtifactsCommand(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /v1/jobs/j1": reply(200, jobWithArtifacts), "GET /v1/jobs/j2": reply(200, queuedJob)})
	got := runCLI(t, f, "artifacts", "j1")
	if got.code != 0 || !strings.Contains(got.stdout, "model.bin   11 B") || !strings.Contains(got.stdout, "report.txt") {
		t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if got := runCLI(t, f, "artifacts", "--json", "j1"); got.code != 0 || !strings.Contains(got.stdout, `"file": "F1"`) {
		t.Errorf("--json: exit %d, stdout %q", got.code, got.stdout)
	}
	if got := runCLI(t, f, "artifacts", "j2"); got.code != 0 || !strings.Contains(got.stderr, "no artifacts") {
		t.Errorf("none: exit %d, stderr %q", got.code, got.stderr)
	}
}

// TestDownloadCommand: download writes the artifact to -o FILE (default
// its name), whole or not at all, shows progress on a terminal, and names
// the artifacts there are when asked for another.
func TestDownloadCommand(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/jobs/j1":                      reply(200, jobWithArtifacts),
		"GET /v1/jobs/j1/artifacts/model.bin":  reply(200, "hello model"),
		"GET /v1/jobs/j1/artifacts/report.txt": reply(404, `{"title":"Not Found","status":404,"detail":"the artifact expired"}`),
	})
	dir := t.TempDir()
	out := filepath.Join(dir, "m.bin")
	got := runWith(t, f, func(e *env) { e.stderrTTY = true }, "download", "j1", "model.bin", "-o", out)
	if got.code != 0 {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "hello model" {
		t.Errorf("downloaded %q, %v", b, err)
	}
	if !strings.Contains(got.stderr, "11 B, sha256 ab12") {
		t.Errorf("stderr %q", got.stderr)
	}
	if got := runCLI(t, f, "download", "j1", "model.bin", "-o", "-"); got.stdout != "hello model" {
		t.Errorf("-o -: %q %q", got.stdout, got.stderr)
	}
	if got := runCLI(t, f, "download", "j1", "nope", "-o", out); got.code != 1 || !strings.Contains(got.stderr, "it has: model.bin, report.txt") {
		t.Errorf("unknown name: exit %d, stderr %q", got.code, got.stderr)
	}
	failed := filepath.Join(dir, "r.txt")
	if got := runCLI(t, f, "download", "j1", "report.txt", "-o", failed); got.code == 0 || !strings.Contains(got.stderr, "expired") {
		t.Errorf("404: exit %d, stderr %q", got.code, got.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed download left files: %v", entries)
	}
}
