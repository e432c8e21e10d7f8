// Package e2e tests the conveyor binary as a user runs it: built once,
// started as a process on loopback, driven over HTTP and through its CLI,
// killed with SIGKILL and restarted.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// binary is the conveyor command built for this test run.
var binary string

// requestTimeout bounds every HTTP request and CLI run of these tests, so
// that a process that stops answering fails the test instead of hanging
// it. It is far above the longest wait a test asks for (30s).
const requestTimeout = 2 * time.Minute

// httpClient sends the requests of these tests: http.DefaultClient
// bounded by requestTimeout.
var httpClient = &http.Client{Timeout: requestTimeout}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conveyor-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "conveyor")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/conveyor")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build conveyor:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// statSources stats every Go file of the module from inside a test, so that
// go test's cache, which tracks the files a test touches, reruns these
// tests when any source of the binary changes: they build it with go
// build, which the cache cannot see.
var statSources = sync.OnceFunc(func() {
	_ = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, _ = os.Stat(path)
		}
		return nil
	})
})

// proc is a running `conveyor serve`.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{}
}

// serve starts the binary with the config text and waits for /readyz.
func serve(t *testing.T, dir, addr, configText string) *proc {
	t.Helper()
	cfgPath := filepath.Join(dir, "conveyor.yaml")
	if err := os.WriteFile(cfgPath, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	return serveFile(t, dir, addr, cfgPath, "")
}

// serveFile starts the binary with a config file, in the working directory
// wd ("" for the test's), with its data under dir, and waits for /readyz.
func serveFile(t *testing.T, dir, addr, cfgPath, wd string) *proc {
	t.Helper()
	env := []string{"CONVEYOR_HTTP_ADDR=" + addr, "CONVEYOR_DATA_DIR=" + filepath.Join(dir, "data")}
	return startProc(t, []string{"serve", "--config", cfgPath}, env, wd, addr)
}

// startProc starts the binary with args and extra environment, and waits
// until it is up: /readyz answers 200 on httpAddr, or, for a process with
// no HTTP API (httpAddr ""), it has logged that it is up.
func startProc(t *testing.T, args, env []string, wd, httpAddr string) *proc {
	t.Helper()
	statSources()
	p := &proc{t: t, base: "http://" + httpAddr, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = wd
	p.cmd.Env = append(os.Environ(), env...)
	if args[0] == "gateway" && !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "CONVEYOR_DATA_DIR=") }) {
		// Each gateway keeps its job index in a data dir of its own.
		p.cmd.Env = append(p.cmd.Env, "CONVEYOR_DATA_DIR="+t.TempDir())
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if httpAddr == "" {
			if strings.Contains(p.logs.String(), "conveyor is up") {
				return p
			}
		} else if resp, err := httpClient.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("conveyor %s exited early:\n%s", args[0], p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("conveyor %s not up after 30s:\n%s", args[0], p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's
// reads at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// kill sends sig and waits for the process to exit.
func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Errorf("conveyor serve did not exit after %v", sig)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// call sends a request and decodes a JSON answer into out (if not nil).
func (p *proc) call(method, path, body string, out any) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, p.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, nil
}

// submit posts a job and returns its id; it fails the test unless the
// job is accepted (202).
func (p *proc) submit(body string) string {
	p.t.Helper()
	var j conveyor.Job
	if code, err := p.call("POST", "/v1/jobs", body, &j); err != nil || code != 202 {
		p.t.Fatalf("submit %s: %d %v", body, code, err)
	}
	return j.ID
}

// awaitStatus polls a job until it has status (see testenv.Eventually).
func (p *proc) awaitStatus(id string, status conveyor.Status) {
	p.t.Helper()
	testenv.Eventually(p.t, fmt.Sprintf("job %s to be %s", id, status), func() bool {
		return p.job(id, "").Status == status
	})
}

// job reads a job; it fails the test on any error.
func (p *proc) job(id string, wait string) conveyor.Job {
	p.t.Helper()
	var j conveyor.Job
	q := ""
	if wait != "" {
		q = "?wait=" + wait
	}
	if code, err := p.call("GET", "/v1/jobs/"+id+q, "", &j); err != nil || code != 200 {
		p.t.Fatalf("get job %s: %d %v", id, code, err)
	}
	return j
}

// cli runs the binary with args against p and returns its output and exit
// code. A run longer than requestTimeout is killed and fails the test.
func (p *proc) cli(stdin string, args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "CONVEYOR_SERVER="+p.base)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		p.t.Fatalf("conveyor %s still ran after %v and was killed:\n%s", strings.Join(args, " "), requestTimeout, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return string(out), code
}
