package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// cluster is a NATS cluster of `conveyor broker` processes.
type cluster struct {
	nodes  []*proc
	url    string // every node's client URL, comma-separated
	routes string // every node's cluster URL, comma-separated
	// spare are free addresses chosen with the nodes', for the gateways
	// of a test: one chosen later could be a port a node has not bound yet.
	spare []string
}

// addr returns a spare address for a gateway's HTTP.
func (c *cluster) addr(t *testing.T) string {
	t.Helper()
	if len(c.spare) == 0 {
		t.Fatal("the cluster has no spare address left: reserve more in startClusterEnv")
	}
	a := c.spare[0]
	c.spare = c.spare[1:]
	return a
}

// spareAddrs is how many addresses startClusterEnv reserves for gateways.
const spareAddrs = 4

// startCluster starts n `conveyor broker` nodes on free loopback ports,
// routed to one another, each with its own data dir under dir; one node
// runs unclustered.
func startCluster(t *testing.T, dir string, n int) *cluster {
	t.Helper()
	return startClusterEnv(t, dir, n, nil)
}

// startClusterEnv is startCluster with env(i), when env is not nil, added
// to the environment of node i (from 0).
func startClusterEnv(t *testing.T, dir string, n int, env func(i int) []string) *cluster {
	t.Helper()
	addrs := testenv.FreeAddrs(t, 2*n+spareAddrs) // distinct: a route on a node's client port breaks the cluster
	clients, routes := make([]string, n), make([]string, n)
	for i := range n {
		clients[i] = "nats://" + addrs[i]
		routes[i] = "nats://" + addrs[n+i]
	}
	c := &cluster{url: strings.Join(clients, ","), routes: strings.Join(routes, ","), spare: addrs[2*n:]}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		args := []string{"broker", "--name", name, "--listen", strings.TrimPrefix(clients[i], "nats://"), "--data-dir", filepath.Join(dir, name)}
		if n > 1 {
			args = append(args, "--cluster", strings.TrimPrefix(routes[i], "nats://"), "--routes", c.routes)
		}
		var extra []string
		if env != nil {
			extra = env(i)
		}
		c.nodes = append(c.nodes, startProc(t, args, extra, "", ""))
	}
	return c
}

// runnerID returns the registry id of the runner process p, as gateway g
// lists it, or "" when g does not list it.
func runnerID(t *testing.T, g, p *proc) string {
	t.Helper()
	var rl conveyor.RunnerList
	if code, err := g.call("GET", "/v1/runners", "", &rl); err != nil || code != 200 {
		return ""
	}
	for _, r := range rl.Runners {
		if r.PID == p.cmd.Process.Pid {
			return r.ID
		}
	}
	return ""
}

// countJobs returns how many jobs gateway g lists.
func countJobs(t *testing.T, g *proc) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		var page conveyor.JobPage
		if code, err := g.call("GET", "/v1/jobs?limit=500&cursor="+cursor, "", &page); err != nil || code != 200 {
			t.Fatalf("list jobs on %s: %d %v", g.base, code, err)
		}
		n += len(page.Jobs)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}

// submitter talks to a set of gateways, in turn, retrying what a failover
// interrupts.
type submitter struct {
	gws     []*proc
	n       atomic.Int32
	slowest atomic.Int64 // the longest submit, retries included, in ns
	retries atomic.Int32 // requests sent again after an error or a 5xx
}

func (s *submitter) next() *proc { return s.gws[int(s.n.Add(1))%len(s.gws)] }

// do sends a request to the next gateway, retrying transport errors and
// 5xx answers (on the other gateway) until ctx ends; it returns the status
// and body of the first other answer.
func (s *submitter) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	for {
		g := s.next()
		req, err := http.NewRequestWithContext(ctx, method, g.base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := httpClient.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode < 500 {
				return resp.StatusCode, data, nil
			}
		}
		s.retries.Add(1)
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// submit posts a job (with an idempotency key, so a retry is the same
// job) and returns its id. A retry of a submit whose first try was stored
// after all is answered 200 with that job, which counts as accepted.
func (s *submitter) submit(t *testing.T, ctx context.Context, i int, body string) string {
	began := time.Now()
	code, data, err := s.do(ctx, "POST", "/v1/jobs", body)
	for d := int64(time.Since(began)); ; {
		if old := s.slowest.Load(); d <= old || s.slowest.CompareAndSwap(old, d) {
			break
		}
	}
	accepted := code == http.StatusAccepted || code == http.StatusOK
	var j conveyor.Job
	if err == nil && accepted {
		err = json.Unmarshal(data, &j)
	}
	if errors.Is(context.Cause(ctx), errStopped) {
		return j.ID // cut short by a test that ends early: not a failure of its own
	}
	if err != nil || !accepted {
		t.Errorf("submit %d: %d %v %s", i, code, err, data)
	}
	return j.ID
}

// errStopped is the cause a test cancels its submits' context with when
// it ends before they do: it stops them without a failure of each.
var errStopped = errors.New("the test stopped submitting")

// get reads a job, waiting up to wait ("" for not at all).
func (s *submitter) get(ctx context.Context, id, wait string) (conveyor.Job, bool) {
	path := "/v1/jobs/" + id
	if wait != "" {
		path += "?wait=" + wait
	}
	var j conveyor.Job
	code, data, err := s.do(ctx, "GET", path, "")
	if err != nil || code != 200 || json.Unmarshal(data, &j) != nil {
		return j, false
	}
	return j, true
}

// await waits until the job is final.
func (s *submitter) await(t *testing.T, ctx context.Context, id string) conveyor.Job {
	t.Helper()
	for {
		j, ok := s.get(ctx, id, "10s")
		if ok && j.Status.Terminal() {
			return j
		}
		if ctx.Err() != nil {
			t.Fatalf("job %s not done: %s", id, j.Status)
		}
	}
}

// tail returns the end of a process's log.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
