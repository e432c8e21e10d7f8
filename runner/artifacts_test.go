package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker/brokertest"
)

// TestStoreArtifacts: the files of the output directory become the job's
// files, of its tenant, and the output's references to them file
// references; a directory in it, or a reference to no artifact, fails for
// good and leaves nothing stored.
func TestStoreArtifacts(t *testing.T) {
	_, b := brokertest.Open(t)
	job := &conveyor.Job{ID: "01JOB", Tenant: "acme"}
	write := func(dir, name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() uint64 {
		msgs, _, err := b.FilesStored(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}

	dir := t.TempDir()
	write(dir, "b.csv", "x,y\n")
	write(dir, "a.bin", "abc")
	out, arts, err := storeArtifacts(t.Context(), b, dir, job, json.RawMessage(`{"table":{"$artifact":"b.csv"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Name != "a.bin" || arts[0].Size != 3 || arts[1].ContentType != "text/csv; charset=utf-8" {
		t.Fatalf("artifacts %+v", arts)
	}
	fi, err := b.StatFile(t.Context(), arts[1].File)
	if err != nil || fi.Tenant != "acme" || fi.SHA256 != arts[1].SHA256 {
		t.Errorf("stored as %+v %v", fi, err)
	}
	if !strings.Contains(string(out), `"table":{"$file":"`+arts[1].File+`"`) {
		t.Errorf("output %s", out)
	}

	before := stored()
	bad := t.TempDir()
	write(bad, "a.bin", "abc")
	if err := os.Mkdir(filepath.Join(bad, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := storeArtifacts(t.Context(), b, bad, job, json.RawMessage(`{}`)); !conveyor.IsPermanent(err) || !strings.Contains(err.Error(), `"sub"`) {
		t.Errorf("a directory: %v, want a permanent error naming it", err)
	}
	link := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(link, "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := storeArtifacts(t.Context(), b, link, job, json.RawMessage(`{}`)); !conveyor.IsPermanent(err) || !strings.Contains(err.Error(), `"passwd" is not a regular file`) {
		t.Errorf("a link: %v, want a permanent error naming it", err)
	}
	// Swapped for a link after the listing: refused at the open.
	if _, err := storeArtifact(t.Context(), b, filepath.Join(link, "passwd"), "passwd", job); !conveyor.IsPermanent(err) {
		t.Errorf("a link opened: %v, want a permanent error", err)
	}
	noRef := t.TempDir()
	write(noRef, "a.bin", "abc")
	if _, _, err := storeArtifacts(t.Context(), b, noRef, job, json.RawMessage(`{"m":{"$artifact":"model.bin"}}`)); !conveyor.IsPermanent(err) || !strings.Contains(err.Error(), "model.bin") {
		t.Errorf("a reference to nothing: %v", err)
	}
	if after := stored(); after != before {
		t.Errorf("refused artifacts left %d messages in the object store", after-before)
	}
}
