package e2e

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testcert"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestClusterRouteTLS runs 3 `conveyor broker` nodes whose routes are TLS
// only (broker.cluster_tls, set by CONVEYOR_BROKER_CLUSTER_TLS_*, each node
// with its own certificate from one CA), a gateway and a runner keeping 3
// replicas: a job runs end to end, so the streams were made on the three
// nodes over their TLS routes. A fourth node with plain routes to them is
// refused, and a member says so in its log.
func TestClusterRouteTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	c := startClusterEnv(t, dir, 3, func(int) []string {
		f := ca.Write(t, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
		return []string{"CONVEYOR_BROKER_CLUSTER_TLS_CA=" + f.CA, "CONVEYOR_BROKER_CLUSTER_TLS_CERT=" + f.Cert, "CONVEYOR_BROKER_CLUSTER_TLS_KEY=" + f.Key}
	})
	env := []string{"CONVEYOR_NATS_REPLICAS=3"}
	addr := c.addr(t)
	g := startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr)
	startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_ALGORITHMS=[{kind: go}]"), "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := &submitter{gws: []*proc{g}}
	id := cl.submit(t, ctx, 0, `{"algorithm":"is_prime","input":{"n":97}}`)
	if j := cl.await(t, ctx, id); j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"n":97,"prime":true}` {
		t.Fatalf("job over a cluster with route TLS: %s %s", j.Status, j.Output)
	}

	// Only a peer that does not speak TLS makes a member log this.
	refused := func() bool {
		for _, n := range c.nodes {
			if strings.Contains(n.logs.String(), "TLS route handshake error: tls: first record does not look like a TLS handshake") {
				return true
			}
		}
		return false
	}
	startProc(t, []string{"broker", "--name", "outsider", "--listen", c.addr(t), "--data-dir", filepath.Join(dir, "outsider"),
		"--cluster", c.addr(t), "--routes", c.routes}, nil, "", "")
	testenv.Eventually(t, "a member to log that it refused the outsider's plain route", refused)
}
