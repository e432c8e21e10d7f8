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

// TestMisspelledEnvStops: a CONVEYOR_* variable that names no config key
// stops every server command at once with an error naming it, instead of
// starting on the default the variable meant to change.
func TestMisspelledEnvStops(t *testing.T) {
	statSources()
	addrs := testenv.FreeAddrs(t, 3)
	nats := "nats://" + addrs[1]
	for _, args := range [][]string{
		{"serve"},
		{"gateway", "--nats", nats},
		{"runner", "--nats", nats},
		{"broker", "--listen", addrs[1], "--data-dir", filepath.Join(t.TempDir(), "n1")},
	} {
		t.Run(args[0], func(t *testing.T) {
			// A bound, not a timing assertion: without the check the
			// command runs until it is killed.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Env = append(os.Environ(), "CONVEYOR_HTTP_ADRR="+addrs[2], "CONVEYOR_HTTP_ADDR="+addrs[0],
				"CONVEYOR_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "CONVEYOR_SERVER=http://"+addrs[0])
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("conveyor %s started despite CONVEYOR_HTTP_ADRR and ran until killed:\n%s", args[0], out)
			}
			if err == nil {
				t.Fatalf("conveyor %s exited 0:\n%s", args[0], out)
			}
			if !strings.Contains(string(out), "CONVEYOR_HTTP_ADRR") || !strings.Contains(string(out), "CONVEYOR_HTTP_ADDR") {
				t.Fatalf("conveyor %s: the error does not name the variable and its likely meaning:\n%s", args[0], out)
			}
		})
	}
}
