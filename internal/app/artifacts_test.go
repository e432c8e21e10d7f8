package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// artifactConfig serves the exec script testdata/artifacts.py as
// "artifacts", the Python module testdata/artmod.py, the Go algorithms,
// and a pipeline of the exec script then the Python count stage.
func artifactConfig(t *testing.T) config.Config {
	t.Helper()
	python := testenv.Python(t)
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = os.ReadFile("testdata/artmod.py") // so that go test's cache sees them
	_, _ = os.ReadFile("testdata/artifacts.py")
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms,
		execkind.Entry(config.Algorithm{Name: "artifacts", MaxAttempts: 2}, execkind.Options{Command: []string{python, filepath.Join(dir, "artifacts.py")}}),
		pyWorker(python, dir, "artmod", config.Algorithm{Workers: config.Workers{Max: 1}}),
		config.Algorithm{Name: "report_count", Pipeline: []string{"artifacts", "count"}},
	)
	cfg.WithDefaults()
	return cfg
}

// getBody GETs path and returns the status, the headers and the body.
func (s *server) getBody(path string, header ...string) (int, http.Header, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// artifactNames returns the names of the artifacts of j, sorted.
func artifactNames(j *conveyor.Job) []string {
	var names []string
	for _, a := range j.Artifacts {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}

// storedObjects returns how many messages the object store of files holds.
func (s *server) storedObjects() uint64 {
	s.t.Helper()
	msgs, _, err := s.app.broker.FilesStored(s.t.(*testing.T).Context())
	if err != nil {
		s.t.Fatal(err)
	}
	return msgs
}

// TestExecArtifacts: every file an exec job writes in $CONVEYOR_OUTPUT_DIR
// is an artifact, listed with its size, sha256 and type and downloaded
// whole, by Range (206) and by HEAD, with the ETag of its digest; deleting
// the job removes its objects.
func TestExecArtifacts(t *testing.T) {
	s := startServer(t, artifactConfig(t))
	before := s.storedObjects()
	const size = 3<<20 + 12345 // several chunks
	j := s.submit(map[string]any{"algorithm": "artifacts", "input": map[string]any{"size": size}}, "", http.StatusAccepted)
	j = s.wait(j.ID)
	if j.Status != conveyor.StatusSucceeded {
		t.Fatalf("job %s: %+v", j.Status, j.Error)
	}
	if got := artifactNames(j); !slices.Equal(got, []string{"data.bin", "report.txt"}) {
		t.Fatalf("artifacts %v", got)
	}
	var want []byte
	block := make([]byte, 256)
	for i := range block {
		block[i] = byte(i)
	}
	for len(want) < size {
		want = append(want, block...)
	}
	want = want[:size]
	sum := sha256.Sum256(want)
	var data conveyor.Artifact
	for _, a := range j.Artifacts {
		if a.Name == "data.bin" {
			data = a
		}
	}
	if data.Size != size || data.SHA256 != hex.EncodeToString(sum[:]) || data.ContentType != "application/octet-stream" || data.File == "" {
		t.Errorf("data.bin listed as %+v", data)
	}

	code, h, body := s.getBody("/v1/jobs/" + j.ID + "/artifacts/data.bin")
	if code != 200 || !bytes.Equal(body, want) {
		t.Fatalf("download: %d, %d bytes", code, len(body))
	}
	if h.Get("ETag") != `"`+data.SHA256+`"` || !strings.Contains(h.Get("Content-Disposition"), `filename=data.bin`) {
		t.Errorf("headers %v", h)
	}
	code, h, body = s.getBody("/v1/jobs/"+j.ID+"/artifacts/data.bin", "Range", "bytes=1048570-1048580")
	if code != http.StatusPartialContent || !bytes.Equal(body, want[1048570:1048581]) || h.Get("Content-Range") != fmt.Sprintf("bytes 1048570-1048580/%d", size) {
		t.Errorf("range: %d %q %v", code, body, h.Get("Content-Range"))
	}
	req, _ := http.NewRequest("HEAD", s.base+"/v1/jobs/"+j.ID+"/artifacts/report.txt", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len("attempt 1\n")) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("HEAD: %d %d %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"))
	}
	// The artifact is a file too, of the job's tenant.
	if code, _, body := s.getBody("/v1/files/" + data.File); code != 200 || len(body) != size {
		t.Errorf("as a file: %d, %d bytes", code, len(body))
	}
	if code, _, _ := s.getBody("/v1/jobs/" + j.ID + "/artifacts/nothing.txt"); code != 404 {
		t.Errorf("unknown artifact: %d", code)
	}

	// The Go client lists and downloads them.
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Artifacts(t.Context(), j.ID)
	if err != nil || len(arts) != 2 {
		t.Errorf("client artifacts: %v %v", arts, err)
	}
	var buf bytes.Buffer
	if n, err := c.DownloadArtifact(t.Context(), j.ID, "data.bin", &buf); err != nil || n != size || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("client download: %d %v", n, err)
	}

	if resp := s.do("DELETE", "/v1/jobs/"+j.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if code, _, _ := s.getBody("/v1/files/" + data.File); code != 404 {
		t.Errorf("the artifact's file outlived its job: %d", code)
	}
	if after := s.storedObjects(); after != before {
		t.Errorf("the object store holds %d messages after the delete, %d before the job", after, before)
	}
}

// TestFailedAttemptArtifacts: what a failed attempt wrote is not kept;
// the retry's artifacts are the job's, and the object store holds only
// them.
func TestFailedAttemptArtifacts(t *testing.T) {
	s := startServer(t, artifactConfig(t))
	before := s.storedObjects()
	j := s.submit(map[string]any{"algorithm": "artifacts", "input": map[string]any{"fail_first": true, "size": 1000}}, "", http.StatusAccepted)
	j = s.wait(j.ID)
	if j.Status != conveyor.StatusSucceeded || j.Attempt != 2 {
		t.Fatalf("job %s after %d attempts: %+v", j.Status, j.Attempt, j.Error)
	}
	if got := artifactNames(j); !slices.Equal(got, []string{"data.bin", "report.txt"}) {
		t.Errorf("artifacts %v: partial.txt of the failed attempt must be dropped", got)
	}
	if _, _, body := s.getBody("/v1/jobs/" + j.ID + "/artifacts/report.txt"); string(body) != "attempt 2\n" {
		t.Errorf("report.txt is %q, want the second attempt's", body)
	}
	// Two objects: a description and a chunk each.
	if after := s.storedObjects(); after != before+4 {
		t.Errorf("the object store gained %d messages, want 4 (two small artifacts)", after-before)
	}

	// A directory in the output fails the job, naming it; nothing stays.
	before = s.storedObjects()
	j = s.submit(map[string]any{"algorithm": "artifacts", "input": map[string]any{"bad": true}}, "", http.StatusAccepted)
	j = s.wait(j.ID)
	if j.Status != conveyor.StatusFailed || j.Error == nil || !strings.Contains(j.Error.Message, `"sub" is not a regular file`) || len(j.Artifacts) != 0 {
		t.Errorf("a directory in the output: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	if after := s.storedObjects(); after != before {
		t.Errorf("a failed job left %d messages in the object store", after-before)
	}
}

// TestPythonArtifacts: job.artifact(name), a returned bytes (the artifact
// "output") and a returned conveyor.File(path) are artifacts; the output
// references them; a name that is a path fails the job clearly.
func TestPythonArtifacts(t *testing.T) {
	s := startServer(t, artifactConfig(t))
	j := s.submit(map[string]any{"algorithm": "notes", "input": map[string]any{"lines": 3}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || !slices.Equal(artifactNames(j), []string{"notes.txt"}) {
		t.Fatalf("notes: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	if _, _, body := s.getBody("/v1/jobs/" + j.ID + "/artifacts/notes.txt"); string(body) != "line 0\nline 1\nline 2\n" {
		t.Errorf("notes.txt: %q", body)
	}

	j = s.submit(map[string]any{"algorithm": "raw", "input": map[string]any{"n": 300000}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || !slices.Equal(artifactNames(j), []string{"output"}) {
		t.Fatalf("raw: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	var ref conveyor.File
	if err := json.Unmarshal(j.Output, &ref); err != nil || ref.ID != j.Artifacts[0].File || ref.Size != 300000 {
		t.Errorf("raw's output %s: want the file reference of its artifact %+v", j.Output, j.Artifacts[0])
	}
	_, _, body := s.getBody("/v1/jobs/" + j.ID + "/artifacts/output")
	if len(body) != 300000 || body[251] != 0 || body[250] != 250 {
		t.Errorf("output: %d bytes", len(body))
	}

	j = s.submit(map[string]any{"algorithm": "model", "input": map[string]any{"size": 5000}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || !slices.Equal(artifactNames(j), []string{"model.bin"}) || j.Artifacts[0].Size != 5000 {
		t.Fatalf("model: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	model := j.ID

	j = s.submit(map[string]any{"algorithm": "bad_name", "input": map[string]any{}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusFailed || !strings.Contains(j.Error.Message, "a name, not a path") {
		t.Errorf("bad name: %s %+v", j.Status, j.Error)
	}

	// The Python client lists and downloads them.
	dest := filepath.Join(t.TempDir(), "model.bin")
	out, err := runPythonClient(t, fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q)
arts = c.artifacts(%q)
assert [a["name"] for a in arts] == ["model.bin"], arts
print("GOT", c.download(%q, "model.bin", %q))
`, s.base, model, model, dest))
	if err != nil || !strings.Contains(out, "GOT 5000") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(dest); err != nil || !bytes.Equal(b, bytes.Repeat([]byte("m"), 5000)) {
		t.Errorf("downloaded model: %d bytes, %v", len(b), err)
	}
}

// TestGoArtifact: a Go algorithm's conveyor.CreateArtifact, referenced in
// its output by conveyor.ArtifactRef.
func TestGoArtifact(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	j := s.submit(map[string]any{"algorithm": "list_primes", "input": map[string]any{"below": 30}}, "?wait=30s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || !slices.Equal(artifactNames(j), []string{"primes.txt"}) {
		t.Fatalf("list_primes: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	if _, _, body := s.getBody("/v1/jobs/" + j.ID + "/artifacts/primes.txt"); string(body) != "2\n3\n5\n7\n11\n13\n17\n19\n23\n29\n" {
		t.Errorf("primes.txt: %q", body)
	}
	var out struct {
		Count int           `json:"count"`
		File  conveyor.File `json:"file"`
	}
	if err := json.Unmarshal(j.Output, &out); err != nil || out.Count != 10 || out.File.ID != j.Artifacts[0].File {
		t.Errorf("output %s", j.Output)
	}
}

// TestPipelineArtifacts: a stage's artifact, referenced in its output as
// {"$artifact": name}, is a file the next stage reads; the job lists the
// artifacts of its stages.
func TestPipelineArtifacts(t *testing.T) {
	s := startServer(t, artifactConfig(t))
	j := s.submit(map[string]any{"algorithm": "report_count", "input": map[string]any{"ref": true, "size": 10}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded {
		t.Fatalf("pipeline: %s %+v", j.Status, j.Error)
	}
	var out struct {
		Bytes int    `json:"bytes"`
		Text  string `json:"text"`
		Name  string `json:"name"`
	}
	if err := json.Unmarshal(j.Output, &out); err != nil || out.Text != "attempt 1\n" || out.Name != "report.txt" {
		t.Errorf("the count stage saw %s", j.Output)
	}
	if got := artifactNames(j); !slices.Equal(got, []string{"data.bin", "report.txt"}) {
		t.Errorf("the pipeline job lists %v", got)
	}
}

// TestArtifactTenants: another tenant gets 404 for a job's artifact, by
// its name and as a file; its own tenant reads it.
func TestArtifactTenants(t *testing.T) {
	t.Setenv("T_ACME", "acme-secret")
	t.Setenv("T_GLOBEX", "globex-secret")
	cfg := artifactConfig(t)
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_ACME", Scopes: []string{"submit", "read", "cancel"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_GLOBEX", Scopes: []string{"submit", "read", "cancel"}, Tenant: "globex"},
	}
	s := startServer(t, cfg)
	get := func(token, path string) (int, []byte) {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	req, _ := http.NewRequest("POST", s.base+"/v1/jobs?wait=60s", strings.NewReader(`{"algorithm":"artifacts","input":{"size":100}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer acme-secret")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var j conveyor.Job
	_ = jsonDecode(resp, &j)
	resp.Body.Close()
	if j.Status != conveyor.StatusSucceeded || len(j.Artifacts) != 2 {
		t.Fatalf("acme's job: %s %+v", j.Status, j.Error)
	}
	if code, body := get("acme-secret", "/v1/jobs/"+j.ID+"/artifacts/data.bin"); code != 200 || len(body) != 100 {
		t.Errorf("acme reads its artifact: %d", code)
	}
	if code, _ := get("globex-secret", "/v1/jobs/"+j.ID+"/artifacts/data.bin"); code != 404 {
		t.Errorf("globex reads acme's artifact: %d, want 404", code)
	}
	if code, _ := get("globex-secret", "/v1/files/"+j.Artifacts[0].File); code != 404 {
		t.Errorf("globex reads acme's artifact as a file: %d, want 404", code)
	}

	// A tenant's pipeline passes its artifact on: the later stage's file
	// is checked to be the job's tenant's, and is.
	req, _ = http.NewRequest("POST", s.base+"/v1/jobs?wait=60s", strings.NewReader(`{"algorithm":"report_count","input":{"ref":true}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer acme-secret")
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	j = conveyor.Job{}
	_ = jsonDecode(resp, &j)
	resp.Body.Close()
	if j.Status != conveyor.StatusSucceeded {
		t.Errorf("acme's pipeline: %s %+v", j.Status, j.Error)
	}
}

// TestArtifactsExpire: a job's artifacts go after the retention, as the
// job does: unreadable, then gone from the object store.
func TestArtifactsExpire(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Retention = conveyor.Duration(time.Second)
	s := startServer(t, cfg)
	before := s.storedObjects()
	j := s.submit(map[string]any{"algorithm": "list_primes", "input": map[string]any{"below": 100}}, "?wait=10s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || len(j.Artifacts) != 1 {
		t.Fatalf("list_primes: %s %+v", j.Status, j.Artifacts)
	}
	testenv.Eventually(t, "the artifact to expire", func() bool {
		code, _, _ := s.getBody("/v1/files/" + j.Artifacts[0].File)
		return code == http.StatusNotFound
	})
	testenv.Eventually(t, "the artifact's messages to leave the object store", func() bool {
		return s.storedObjects() == before
	})
}

// TestArtifactsAsUser: exec and worker processes that run as another user
// (user: nobody) can write their artifacts: the directory is handed to
// that user.
func TestArtifactsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	// A Python that nobody may run: the system's, not one under /root.
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no " + python + " for the user nobody")
	}
	dir, _ := filepath.Abs("testdata")
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms,
		execkind.Entry(config.Algorithm{Name: "artifacts"}, execkind.Options{Command: []string{python, filepath.Join(dir, "artifacts.py")}, User: "nobody"}),
		// The SDK the runner bundles, in a directory nobody may read.
		pyWorker(python, dir, "artmod", config.Algorithm{Workers: config.Workers{Max: 1}}, workerkind.Options{Process: spawn.Options{User: "nobody"}}),
	)
	cfg.WithDefaults()
	s := startServer(t, cfg)
	j := s.submit(map[string]any{"algorithm": "artifacts", "input": map[string]any{"size": 10}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || len(j.Artifacts) != 2 {
		t.Errorf("exec as nobody: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
	j = s.submit(map[string]any{"algorithm": "notes", "input": map[string]any{"lines": 2}}, "?wait=60s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || len(j.Artifacts) != 1 {
		t.Errorf("worker as nobody: %s %+v %v", j.Status, j.Error, j.Artifacts)
	}
}
