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
	if _, err := Start(cmd, l); err != nil {
		return "", err
	}
	err := cmd.Wait()
	return out.String(), err
}

func TestLimitsOf(t *testing.T) {
	l, err := LimitsOf(Options{User: "nobody", Rlimits: Rlimits{Memory: 1 << 30, CPUSeconds: 5}})
	if err != nil || l.Credential == nil || l.Credential.Uid != 65534 || l.Memory != 1<<30 || l.CPUSeconds != 5 || l.OpenFiles != 0 {
		t.Fatalf("LimitsOf = %+v, %v", l, err)
	}
	if l, err := LimitsOf(Options{User: "0"}); err != nil || l.Credential.Uid != 0 {
		t.Fatalf("numeric uid: %+v, %v", l, err)
	}
	if _, err := LimitsOf(Options{User: "no-such-user-xyz"}); err == nil {
		t.Fatal("an unknown user was accepted")
	}
}
