package spawn

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Command is how to start the processes of an exec or worker entry, as
// CommandOf checked and resolved it.
type Command struct {
	Path   string            // the resolved executable
	Args   []string          // argv as configured; Args[0] names the program
	Dir    string            // absolute working directory
	Env    map[string]string // the Inherited variables, overridden and extended by the entry's env
	Limits Limits            // the user and rlimits of each process
}

// CommandOf checks the command, dir, env and user of an exec or worker
// entry (its Options) and resolves them. The command's executable is resolved now (see
// LookPath): a bare name through PATH (the entry's env PATH if it sets
// one, else the runner's), a relative path against the dir. Dir defaults
// to the runner's current directory and must exist.
//
// CommandOf returns an error saying which field is wrong — an empty
// command, a malformed env name or value, a missing dir, an executable
// that is missing or not executable, an unknown user — without naming the
// entry, which the kind does. A kind checks what is its own (which env
// names it reserves, with its own example of a command) before.
func CommandOf(entry Options) (Command, error) {
	if len(entry.Command) == 0 || entry.Command[0] == "" {
		return Command{}, errors.New("command is required")
	}
	for k, v := range entry.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return Command{}, fmt.Errorf("env %q: not a valid environment variable", k)
		}
	}
	dir, err := filepath.Abs(cmp.Or(entry.Dir, "."))
	if err != nil {
		return Command{}, fmt.Errorf("dir %q: %v", entry.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return Command{}, fmt.Errorf("dir: %v", err)
	} else if !fi.IsDir() {
		return Command{}, fmt.Errorf("dir %s: not a directory", dir)
	}
	pathEnv, ok := entry.Env["PATH"]
	if !ok {
		pathEnv = os.Getenv("PATH")
	}
	path, err := LookPath(entry.Command[0], dir, pathEnv)
	if err != nil {
		return Command{}, fmt.Errorf("command %q: %v", entry.Command[0], err)
	}
	limits, err := LimitsOf(entry)
	if err != nil {
		return Command{}, fmt.Errorf("user: %v", err)
	}
	return Command{Path: path, Args: slices.Clone(entry.Command), Dir: dir, Env: Env(entry.Env), Limits: limits}, nil
}

// EnvList returns env as the sorted list of KEY=value that exec.Cmd takes.
func EnvList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}
