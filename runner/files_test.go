package runner

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
)

// TestMaterialize: each file an input references is copied once to a
// read-only local file and the reference completed; the copies go with
// the cleanup; a file that is gone is a permanent error naming it.
func TestMaterialize(t *testing.T) {
	_, b := brokertest.Open(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: 3 chunks
	fi, err := b.StoreFile(t.Context(), bytes.NewReader(data), broker.PutFile{ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	in := json.RawMessage(`{"a":{"$file":"` + fi.ID + `"},"b":[{"$file":"` + fi.ID + `"}],"n":3}`)
	out, cleanup, err := materialize(t.Context(), b, tmp, in, "")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		A conveyor.File   `json:"a"`
		B []conveyor.File `json:"b"`
		N int             `json:"n"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.A != got.B[0] || got.A.Size != int64(len(data)) || got.A.SHA256 != fi.SHA256 || got.A.ContentType != "text/plain" || got.N != 3 {
		t.Errorf("completed input %s", out)
	}
	f, err := got.A.Open()
	if err != nil {
		t.Fatal(err)
	}
	read := new(bytes.Buffer)
	_, _ = read.ReadFrom(f)
	f.Close()
	if !bytes.Equal(read.Bytes(), data) {
		t.Error("the local copy differs from the upload")
	}
	if st, err := os.Stat(got.A.Path); err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("local copy: %v %v, want mode 0400", st.Mode(), err)
	}
	cleanup()
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left after cleanup: %v", entries)
	}

	// No reference: the input as it is, nothing made.
	plain := json.RawMessage(`{"x":1}`)
	if out, cleanup, err := materialize(t.Context(), b, tmp, plain, ""); err != nil || string(out) != string(plain) {
		t.Errorf("plain input: %s %v", out, err)
	} else {
		cleanup()
	}

	// Another tenant's file, where the tenant is checked: permanent.
	_, cleanup, err = materialize(t.Context(), b, tmp, in, "acme")
	cleanup()
	if err == nil || !conveyor.IsPermanent(err) || !strings.Contains(err.Error(), "another tenant's") {
		t.Errorf("another tenant's file: %v, want a permanent error", err)
	}

	// A file gone: permanent, and nothing left behind.
	if err := b.DeleteFile(t.Context(), fi.ID); err != nil {
		t.Fatal(err)
	}
	_, cleanup, err = materialize(t.Context(), b, tmp, in, "")
	cleanup()
	if err == nil || !conveyor.IsPermanent(err) || !strings.Contains(err.Error(), fi.ID) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("missing file: %v, want a permanent error naming it", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left after a failed copy: %v", entries)
	}
}

// TestSweepFiles: the file directories a dead runner left are removed,
// but not a live attempt's (locked) nor a newer one.
func TestSweepFiles(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "F"), []byte("x"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dead := mk(filesPrefix+"1", old)
	live := mk(filesPrefix+"2", old)
	unlock, err := lockFiles(live)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fresh := mk(filesPrefix+"3", time.Now().Add(time.Hour))
	other := mk("something-else", old)
	lookalike := mk(filesPrefix+"bench-1", old)
	removed := sweepFiles(parent, time.Now())
	if len(removed) != 1 || removed[0] != dead {
		t.Errorf("removed %v, want only %s", removed, dead)
	}
	for _, d := range []string{live, fresh, other, lookalike} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
