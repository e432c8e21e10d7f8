package e2e

import (
	"context"
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
// with `npm ci`). It submits the example batch job from the form, watches
// its progress bar reach 100 %, reads its logs, cancels and retries a long
// job, and leaves a screenshot of each page in a temporary directory, whose
// paths it logs (kept with CONVEYOR_SCREENSHOTS=dir). Without node, the npm
// packages or chromium it skips, unless CI is set.
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

	p := serveFile(t, t.TempDir(), testenv.FreeAddr(t), "examples/conveyor.yaml", root)
	shots := os.Getenv("CONVEYOR_SCREENSHOTS")
	if shots == "" {
		if shots, err = os.MkdirTemp("", "conveyor-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "dashboard.test.mjs", p.base, shots)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("dashboard in chromium: %v\nconveyor:\n%s", err, p.logs)
	}
	if !strings.Contains(string(out), "\nok\n") {
		t.Fatalf("the browser script did not finish")
	}
}
