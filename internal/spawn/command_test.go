package spawn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCommandOf(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", "/home/runner")

	c, err := CommandOf(Options{Command: []string{"./job.sh", "a"}, Dir: dir, Env: map[string]string{"X": "1", "HOME": "/elsewhere"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != script || !slices.Equal(c.Args, []string{"./job.sh", "a"}) || c.Dir != dir {
		t.Errorf("CommandOf = %+v, want %s run in %s", c, script, dir)
	}
	if c.Env["X"] != "1" || c.Env["HOME"] != "/elsewhere" || c.Env["PATH"] != os.Getenv("PATH") {
		t.Errorf("env = %v, want the entry's over the inherited", c.Env)
	}
	if c, err := CommandOf(Options{Command: []string{"job.sh"}, Env: map[string]string{"PATH": dir}}); err != nil || c.Path != script {
		t.Errorf("a bare name through the entry's PATH: %+v, %v", c, err)
	}

	for _, tc := range []struct {
		name  string
		entry Options
		want  string
	}{
		{"no command", Options{}, "command is required"},
		{"empty program", Options{Command: []string{""}}, "command is required"},
		{"bad env name", Options{Command: []string{"sh"}, Env: map[string]string{"A=B": "x"}}, `env "A=B": not a valid environment variable`},
		{"NUL in env value", Options{Command: []string{"sh"}, Env: map[string]string{"A": "x\x00"}}, `env "A": not a valid`},
		{"missing dir", Options{Command: []string{"sh"}, Dir: filepath.Join(dir, "nope")}, "dir: "},
		{"dir is a file", Options{Command: []string{"sh"}, Dir: plain}, "not a directory"},
		{"missing executable", Options{Command: []string{"no-such-program-xyz"}}, `command "no-such-program-xyz": executable file not found`},
		{"not executable", Options{Command: []string{"./plain.txt"}, Dir: dir}, `command "./plain.txt"`},
		{"unknown user", Options{Command: []string{"sh"}, User: "no-such-user-xyz"}, "user: unknown user"},
	} {
		if _, err := CommandOf(tc.entry); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

func TestEnvList(t *testing.T) {
	got := EnvList(map[string]string{"B": "2", "A": "1", "C": "x=y"})
	if want := []string{"A=1", "B=2", "C=x=y"}; !slices.Equal(got, want) {
		t.Errorf("EnvList = %q, want %q", got, want)
	}
}
