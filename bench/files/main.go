// Command files measures uploads and downloads through `conveyor serve`:
// a -size file (default 200 MiB) of random bytes is uploaded
// (POST /v1/files), read by an exec job that hashes the local copy the
// runner makes of it, and downloaded (GET /v1/files/{id}) to disk, while
// serve's VmHWM is read from /proc. The job also writes the first
// -artifact MiB (default 100) of the file as its artifact out.bin, which is
// downloaded too (GET /v1/jobs/{id}/artifacts/out.bin). The baseline is cp of the same file to
// the same disk, in the same run, before and after. Everything runs on
// loopback and stops by itself; the figures are printed as one JSON line.
//
//	go build -o /tmp/conveyor ./cmd/conveyor
//	go run ./bench/files -bin /tmp/conveyor -size 200
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor/bench/internal/serve"
)

// hashJob is the exec algorithm: it hashes the file its input references
// at /data, reading the local copy at the path the runner adds, and writes
// the first "artifact" bytes of it as the artifact out.bin.
const hashJob = `import hashlib, json, os
job = json.load(open(os.environ["CONVEYOR_INPUT"]))
h = hashlib.sha256()
left = int(job.get("artifact", 0))
out = open(os.path.join(os.environ["CONVEYOR_OUTPUT_DIR"], "out.bin"), "wb") if left else None
with open(job["data"]["path"], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
        if left > 0:
            out.write(b[:left])
            left -= len(b[:left])
if out:
    out.close()
print("OUTPUT: " + json.dumps({"sha256": h.hexdigest()}))
`

func main() {
	bin := flag.String("bin", "conveyor", "the conveyor binary to measure")
	sizeMiB := flag.Int("size", 200, "the file's size in MiB")
	dir := flag.String("dir", "", "where the file, its copies and serve's data go (default: the system's temp dir)")
	python := flag.String("python", "python3", "the Python of the exec job; empty: no job")
	artifactMiB := flag.Int("artifact", 100, "the size in MiB of the artifact the job writes (at most -size); 0: none")
	flag.Parse()
	tmp, err := os.MkdirTemp(*dir, "conveyor-bench-files-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	size := int64(*sizeMiB) << 20
	src := filepath.Join(tmp, "src.bin")
	sum := writeRandom(src, size)
	artSize := min(int64(*artifactMiB)<<20, size)
	artSum := hashPrefix(src, artSize)

	cfg := filepath.Join(tmp, "conveyor.yaml")
	yaml := "algorithms:\n  - {kind: go}\n"
	if *python != "" {
		script := filepath.Join(tmp, "hash.py")
		if err := os.WriteFile(script, []byte(hashJob), 0o644); err != nil {
			log.Fatal(err)
		}
		yaml += fmt.Sprintf("  - {name: hashfile, kind: exec, command: [%q, %q], workers: {max: 1}}\n", *python, script)
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		log.Fatal(err)
	}
	os.Setenv("CONVEYOR_CONFIG", cfg)
	addr := serve.FreeAddr()
	s := serve.Start(*bin, filepath.Join(tmp, "data"), addr, time.Minute)
	defer s.Stop()
	time.Sleep(2 * time.Second)
	rssIdle, hwmIdle := s.Memory()

	cpBefore, cpSyncBefore := cp(src, filepath.Join(tmp, "cp1.bin"))
	_ = exec.Command("sync").Run()

	t0 := time.Now()
	id, got := upload(s.Base, src, size)
	upTook := time.Since(t0)
	if got != sum {
		log.Fatalf("uploaded sha256 %s, want %s", got, sum)
	}
	_, hwmUp := s.Memory()

	var jobTook, artTook time.Duration
	var jobID string
	if *python != "" {
		jobID, jobTook = runJob(s.Base, id, sum, artSize)
	}
	_, hwmJob := s.Memory()
	var hwmArt int
	if jobID != "" && artSize > 0 {
		art := filepath.Join(tmp, "out.bin")
		_ = exec.Command("sync").Run()
		t0 = time.Now()
		fetch(s.Base+"/v1/jobs/"+jobID+"/artifacts/out.bin", art, artSize)
		artTook = time.Since(t0)
		_, hwmArt = s.Memory()
		if h := hashFile(art); h != artSum {
			log.Fatalf("downloaded artifact sha256 %s, want %s", h, artSum)
		}
		os.Remove(art)
	}

	dst := filepath.Join(tmp, "down.bin")
	_ = exec.Command("sync").Run()
	t0 = time.Now()
	download(s.Base, id, dst, size)
	downTook := time.Since(t0)
	_, hwmDown := s.Memory()
	if h := hashFile(dst); h != sum {
		log.Fatalf("downloaded sha256 %s, want %s", h, sum)
	}

	cpAfter, cpSyncAfter := cp(src, filepath.Join(tmp, "cp2.bin"))
	cpTook, cpSyncTook := min(cpBefore, cpAfter), min(cpSyncBefore, cpSyncAfter)
	mibs := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	out := map[string]any{
		"size_mib":             *sizeMiB,
		"cp_before_mib_s":      round(mibs(cpBefore)),
		"cp_after_mib_s":       round(mibs(cpAfter)),
		"upload_mib_s":         round(mibs(upTook)),
		"download_mib_s":       round(mibs(downTook)),
		"upload_vs_cp":         round(cpTook.Seconds() / upTook.Seconds()),
		"download_vs_cp":       round(cpTook.Seconds() / downTook.Seconds()),
		"cp_fsync_mib_s":       round(mibs(cpSyncTook)),
		"upload_vs_cp_fsync":   round(cpSyncTook.Seconds() / upTook.Seconds()),
		"download_vs_cp_fsync": round(cpSyncTook.Seconds() / downTook.Seconds()),
		"rss_idle_mib":         rssIdle / 1024,
		"hwm_idle_mib":         hwmIdle / 1024,
		"hwm_after_upload":     hwmUp / 1024,
		"hwm_after_job_mib":    hwmJob / 1024,
		"hwm_after_download":   hwmDown / 1024,
		"hwm_growth_mib":       (hwmDown - hwmIdle) / 1024,
		"job_ms":               jobTook.Milliseconds(),
		"job_materialize_note": "job_ms: submit to finished, the copy to local disk and python's sha256 of it included",
	}
	if artTook > 0 {
		out["artifact_mib"] = artSize >> 20
		out["artifact_download_mib_s"] = round(float64(artSize) / (1 << 20) / artTook.Seconds())
		out["hwm_after_artifact_mib"] = hwmArt / 1024
		out["artifact_note"] = "job_ms includes writing the artifact and storing it in the object store"
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func round(f float64) float64 { return float64(int(f*100)) / 100 }

// writeRandom writes size random bytes to path and returns their sha256.
func writeRandom(path string, size int64) string {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		log.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cp copies src to dst with cp(1), after sync(1) so that earlier writes
// do not slow it, and returns how long it took, and how long until dst
// was also on disk (fsync).
func cp(src, dst string) (took, durable time.Duration) {
	_ = exec.Command("sync").Run()
	t0 := time.Now()
	if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
		log.Fatalf("cp: %v %s", err, out)
	}
	took = time.Since(t0)
	f, err := os.Open(dst)
	if err != nil {
		log.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}
	f.Close()
	durable = time.Since(t0)
	os.Remove(dst)
	return took, durable
}

func upload(base, path string, size int64) (id, sha string) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequest("POST", base+"/v1/files", f)
	if err != nil {
		log.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		log.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var fi struct {
		ID     string `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(body, &fi); err != nil {
		log.Fatal(err)
	}
	return fi.ID, fi.SHA256
}

func download(base, id, dst string, size int64) { fetch(base+"/v1/files/"+id, dst, size) }

// fetch GETs url into the file dst, which must come to size bytes.
func fetch(url, dst string, size int64) {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		log.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	f, err := os.Create(dst)
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Close()
	}
	if err != nil || n != size {
		log.Fatalf("download: %d of %d bytes: %v", n, size, err)
	}
}

func hashFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		log.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashPrefix returns the sha256 of the first n bytes of the file at path.
func hashPrefix(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, n); err != nil {
		log.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// runJob submits a hashfile job of the file id, writing an artifact of
// artifact bytes, and waits for it; it returns the job's id and the time
// from submit to the job's end.
func runJob(base, id, sum string, artifact int64) (string, time.Duration) {
	body := fmt.Sprintf(`{"algorithm":"hashfile","input":{"data":{"$file":%q},"artifact":%d}}`, id, artifact)
	t0 := time.Now()
	j := serve.Run(base, strings.NewReader(body))
	took := time.Since(t0)
	if j.Status != "succeeded" || !bytes.Contains(j.Output, []byte(sum)) {
		log.Fatalf("job %s: %s %s", j.Status, j.Output, j.Error)
	}
	return j.ID, took
}
