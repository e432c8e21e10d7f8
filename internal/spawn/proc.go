// Package spawn holds what the runner kinds that start processes (exec,
// worker) share: how an entry's command, dir, env and user are checked and
// resolved (CommandOf); how children start — on Linux under a supervisor
// that keeps every process of the job in reach and kills them all when the
// job ends or the runner dies, with a scrubbed environment and resource
// limits (Start); how a job is stopped, SIGTERM or another request first,
// then SIGKILL after a grace period (Process.Stop), and its pipes drained
// (DrainPipes); and the tail of a child's stderr kept for error details
// (Tail).
package spawn

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Inherited lists the only variables a child takes from the runner's own
// environment; everything else comes from the algorithm's config.
var Inherited = []string{"PATH", "HOME", "LANG", "TMPDIR"}

// Env returns the base environment of a child: the Inherited variables the
// runner has, overridden and extended by extra (the entry's env).
func Env(extra map[string]string) map[string]string {
	env := map[string]string{}
	for _, k := range Inherited {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// LookPath resolves name as a command's executable: a name with a slash is
// a path, relative to dir; a bare name is searched in the absolute
// directories of pathEnv (relative entries are skipped, as exec.LookPath
// refuses them too).
func LookPath(name, dir, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return exec.LookPath(name)
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(d) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p, nil
		}
	}
	return "", errors.New("executable file not found in PATH (" + pathEnv + ")")
}
