//go:build linux

package spawn

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestStartLimits: the limits are in place when the program starts —
// the shell reads them as its first act — and the user is switched.
func TestStartLimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	l := Limits{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}},
		Memory:     256 << 20,
		CPUSeconds: 7,
		OpenFiles:  42,
	}
	out, err := run(t, l, "ulimit -v; ulimit -t; ulimit -n; id -u; id -g; id -G")
	if err != nil {
		t.Fatal(err)
	}
	if want := "262144\n7\n42\n65534\n65534\n65534\n"; out != want {
		t.Fatalf("the child saw\n%s\nwant\n%s", out, want)
	}
	out, err = run(t, Limits{}, "ulimit -t; id -u")
	if err != nil || out != "unlimited\n0\n" {
		t.Fatalf("without limits the child saw %q (%v)", out, err)
	}
}

func run(t *testing.T, l Limits, script string) (string, error) {
	t.Helper()
	var out strings.Builder
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := Start(cmd, l); err != nil {
		return "", err
	}
	err := cmd.Wait()
	return out.String(), err
}
