//go:build linux

package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestDiskNearlyFull runs serve on a 96 MiB tmpfs (root only; skipped
// where mounting is not allowed) and fills it: below broker.min_free,
// /readyz says the storage check fails and submits and batches are 507s
// that store nothing; with room again, both recover.
func TestDiskNearlyFull(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=96m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the disk-full test needs root", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) }) // after the server's Stop, registered later
	cfg := testConfig(t, filepath.Join(dir, "data"))
	cfg.Broker.MinFree = config.ByteSize(40 << 20)
	s := startServer(t, cfg)
	if resp := s.do("GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("readyz with room: %d", resp.StatusCode)
	}
	s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", 200)

	var free uint64
	if free, _ = freeSpace(dir); free < 40<<20 {
		t.Fatalf("only %d bytes free before the filler", free)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(free-(30<<20))); err != nil { // leaves ~30 MiB, below 40
		t.Fatal(err)
	}
	f.Close()
	testenv.Eventually(t, "readyz to report the storage", func() bool {
		var h conveyor.Health
		resp := s.do("GET", "/readyz", nil, &h)
		return resp.StatusCode == 503 && strings.Contains(h.Checks["storage"], "broker.min_free")
	})
	resp := s.do("POST", "/v1/jobs", map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, nil)
	if p := problem(t, resp); resp.StatusCode != 507 || p.Code != conveyor.ESTORAGE {
		t.Errorf("a submit with the disk nearly full: %d %+v, want 507", resp.StatusCode, p)
	}
	if resp := s.do("POST", "/v1/jobs/batch", `{"jobs":[{"algorithm":"is_prime","input":{"n":7}}]}`, nil); resp.StatusCode != 507 {
		t.Errorf("a batch with the disk nearly full: %d, want 507", resp.StatusCode)
	}
	var page conveyor.JobPage
	if s.do("GET", "/v1/jobs", nil, &page); len(page.Jobs) != 1 {
		t.Errorf("%d jobs listed, want the one accepted before", len(page.Jobs))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "readyz with room again", func() bool { return s.do("GET", "/readyz", nil, nil).StatusCode == 200 })
	s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", 200)
}
