package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestDashboardBrowser drives the dashboard in a real browser: Debian's
// chromium through playwright-core (dashboard/e2e, installed by .ci/run
// with `npm ci`), against two servers of examples/conveyor.yaml.
//
// Open (no tokens): it submits the example batch job from the form,
// watches its progress bar reach 100 %, reads its logs, cancels (after
// confirming) and retries a long job, pages through the jobs list, which
// shows durations and needs only job summaries, fills a form with its
// schema's defaults, wraps long log lines, and opens /docs without a 404.
//
// Tokens: the dashboard asks for a token, refuses a wrong one, shows a
// read-only token no submit, cancel or retry, lets a full token submit a
// job and follow it live, and forgets the token on log-out.
//
// It leaves a screenshot of each page in a temporary directory, whose
// paths it logs (kept with CONVEYOR_SCREENSHOTS=dir). Without node, the
// npm packages or chromium it skips, unless CI is set.
func TestDashboardBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "dashboard", "e2e")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "dashboard/e2e/node_modules (npm ci)")
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install chromium)")
	}
	if len(missing) > 0 {
		testenv.Missing(t, "missing "+strings.Join(missing, ", "))
	}
	shots := os.Getenv("CONVEYOR_SCREENSHOTS")
	if shots == "" {
		if shots, err = os.MkdirTemp("", "conveyor-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	examples, err := os.ReadFile(filepath.Join(root, "examples", "conveyor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The examples plus one algorithm whose schema has defaults of every
	// kind and which logs a very long line, and the toy embedder in
	// batches on a GPU (one, declared: a machine without any may try it).
	config := "resources: {gpu: 1}\n" + string(examples) + `
  - kind: worker
    command: [python3, -m, conveyor.worker, embed]
    env: {PYTHONPATH: examples/python}
    workers: {max: 1}
    resources: {gpu: 1}
  - name: choices
    kind: exec
    description: Echoes its input after a very long log line.
    command: [python3, internal/e2e/testdata/choices.py]
    input_schema:
      type: object
      properties:
        mode: {type: string, enum: [fast, exact, slow], default: exact, description: how to work}
        level: {type: integer, enum: [1, 2, 3], default: 2}
        verbose: {type: boolean, default: true}
        count: {type: integer, default: 3}
        note: {type: string, default: hello}
`
	browse := func(t *testing.T, mode string, config string, env ...string) {
		tmp := t.TempDir()
		cfgPath := filepath.Join(tmp, "conveyor.yaml")
		if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		p := serveFile(t, tmp, testenv.FreeAddr(t), cfgPath, root)
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "dashboard.test.mjs", p.base, shots, mode)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromium), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("browser:\n%s", out)
		if err != nil {
			t.Fatalf("dashboard in chromium: %v\nconveyor:\n%s", err, p.logs)
		}
		if !strings.Contains(string(out), "\nok\n") {
			t.Fatalf("the browser script did not finish")
		}
	}
	t.Run("open", func(t *testing.T) { browse(t, "open", config) })
	t.Run("tokens", func(t *testing.T) {
		sum := func(token string) string { s := sha256.Sum256([]byte(token)); return hex.EncodeToString(s[:]) }
		const full, viewer = "dashboard-test-full-token", "dashboard-test-read-token"
		browse(t, "tokens", config+`
auth:
  tokens:
    - {name: ops, token_sha256: "`+sum(full)+`", scopes: [submit, read, cancel]}
    - {name: viewer, token_sha256: "`+sum(viewer)+`", scopes: [read]}
`, "CONVEYOR_FULL_TOKEN="+full, "CONVEYOR_READ_TOKEN="+viewer)
	})
}
