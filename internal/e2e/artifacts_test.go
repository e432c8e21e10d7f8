package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestClusterArtifacts: on a 3-node cluster keeping 3 replicas, a Go job's
// artifact (list_primes' primes.txt, a dozen chunks) is stored in the
// replicated object store, downloaded with `conveyor download` and by
// Range, read whole again once a node is stopped, and removed with its
// job. So is an exec job's large JSON input and output (kept as files of
// the object store, the record holding references), run by a runner in a
// process of its own.
func TestClusterArtifacts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	dir := t.TempDir()
	c := startCluster(t, dir, 3)
	env := []string{"CONVEYOR_NATS_REPLICAS=3", "CONVEYOR_HEARTBEAT=500ms"}
	addr := c.addr(t)
	g := startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr)
	// echo answers with its input.
	algs := `CONVEYOR_ALGORITHMS=[{kind: go}, {name: echo, kind: exec, command: [sh, -c, 'printf "OUTPUT: "; cat "$CONVEYOR_INPUT"; echo']}]`
	startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), algs), "", "")
	for _, alg := range []string{"list_primes", "echo"} {
		testenv.Eventually(t, alg+" to be served", func() bool {
			code, err := g.call("GET", "/v1/algorithms/"+alg, "", nil)
			return err == nil && code == 200
		})
	}

	// ~600 KB of input, over broker.LargePayload: a file, as is the output.
	items := make([]string, 3000)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprintf("item %d %s", i, strings.Repeat("x", 190)))
	}
	input := `{"items":[` + strings.Join(items, ",") + `]}`
	big := g.submit(`{"algorithm":"echo","input":` + input + `}`)
	g.awaitStatus(big, conveyor.StatusSucceeded)
	sameJSON := func(got []byte) bool {
		var a, b any
		return json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(input), &b) == nil && reflect.DeepEqual(a, b)
	}
	checkBig := func(when string) {
		t.Helper()
		bj := g.job(big, "")
		if !sameJSON(bj.Input) || !sameJSON(bj.Output) {
			t.Errorf("%s: the large job's input (%d bytes) or output (%d bytes) is not the %d bytes submitted", when, len(bj.Input), len(bj.Output), len(input))
		}
	}
	checkBig("on the cluster")

	const below = 3_000_000
	id := g.submit(fmt.Sprintf(`{"algorithm":"list_primes","input":{"below":%d}}`, below))
	g.awaitStatus(id, conveyor.StatusSucceeded)
	j := g.job(id, "")
	want := primesText(below)
	if len(j.Artifacts) != 1 || j.Artifacts[0].Name != "primes.txt" || j.Artifacts[0].Size != int64(len(want)) {
		t.Fatalf("artifacts %+v, want primes.txt of %d bytes", j.Artifacts, len(want))
	}

	out := filepath.Join(dir, "primes.txt")
	if text, code := g.cli("", "download", id, "primes.txt", "-o", out); code != 0 {
		t.Fatalf("conveyor download: exit %d\n%s", code, text)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
		t.Errorf("downloaded %d bytes (%v), want the %d of the primes", len(got), err, len(want))
	}
	if code, body := get(t, g.base+"/v1/jobs/"+id+"/artifacts/primes.txt", "bytes=1000000-1000099"); code != http.StatusPartialContent || !bytes.Equal(body, want[1000000:1000100]) {
		t.Errorf("range: %d %q", code, body)
	}

	c.nodes[0].kill(syscall.SIGTERM)
	testenv.Eventually(t, "the artifact read whole with a node down", func() bool {
		code, body := get(t, g.base+"/v1/jobs/"+id+"/artifacts/primes.txt", "")
		return code == 200 && bytes.Equal(body, want)
	})
	checkBig("with a node down")
	if code, err := g.call("DELETE", "/v1/jobs/"+big, "", nil); err != nil || code != http.StatusNoContent {
		t.Fatalf("delete the large job: %d %v", code, err)
	}

	if code, err := g.call("DELETE", "/v1/jobs/"+id, "", nil); err != nil || code != http.StatusNoContent {
		t.Fatalf("delete: %d %v", code, err)
	}
	if code, _ := get(t, g.base+"/v1/files/"+j.Artifacts[0].File, ""); code != 404 {
		t.Errorf("the artifact's file after its job's delete: %d, want 404", code)
	}
}

// get GETs url, with a Range header when rng is not "", and returns the
// status and body.
func get(t *testing.T, url, rng string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// primesText is what list_primes writes: the primes below n, one a line.
func primesText(n int) []byte {
	composite := make([]bool, n)
	var b strings.Builder
	for i := 2; i < n; i++ {
		if composite[i] {
			continue
		}
		fmt.Fprintln(&b, i)
		for m := i * i; m < n; m += i {
			composite[m] = true
		}
	}
	return []byte(b.String())
}
