package broker

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testcert"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestClusterTLS: three nodes with route TLS, each with its own
// certificate from one CA, form a cluster — each routes to the other two —
// and Conveyor's streams and buckets open on it with three replicas: a job
// record written on one node is read on another. A node whose routes are
// plain, or whose certificate another CA signed, is turned away: a member
// logs the failed handshake, the outsider routes to no one and the
// members still to each other only.
func TestClusterTLS(t *testing.T) {
	ca := testcert.NewCA(t)
	addrs := testenv.FreeAddrs(t, 5) // three members' cluster ports, then two outsiders'
	routes := []string{"nats://" + addrs[0], "nats://" + addrs[1], "nats://" + addrs[2]}
	var nodes [3]*Embedded
	var logs [3]*logWatch
	for i := range nodes {
		f := ca.Write(t, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
		logs[i] = &logWatch{}
		nodes[i] = startNode(t, EmbeddedConfig{
			Name: fmt.Sprintf("n%d", i+1), Cluster: addrs[i], Routes: routes, Logger: slog.New(logs[i]),
			ClusterTLSCert: f.Cert, ClusterTLSKey: f.Key, ClusterTLSCA: f.CA,
		})
	}
	remotes := func() string {
		var s []string
		for i, n := range nodes {
			s = append(s, fmt.Sprintf("n%d routes to %d", i+1, n.srv.NumRemotes()))
		}
		return strings.Join(s, ", ")
	}
	const formed = "n1 routes to 2, n2 routes to 2, n3 routes to 2"
	testenv.Eventually(t, "the cluster to form", func() bool { return remotes() == formed })

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b1, b3 := openR3(t, ctx, nodes[0]), openR3(t, ctx, nodes[2])
	info, err := b1.JetStream().Stream(ctx, "KV_"+JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if ci := info.CachedInfo(); ci.Config.Replicas != 3 || ci.Cluster == nil || len(ci.Cluster.Replicas) != 2 {
		t.Fatalf("the jobs bucket is not on three nodes: %+v", ci.Cluster)
	}
	j := &conveyor.Job{ID: "route-tls", Algorithm: "is_prime", Status: conveyor.StatusQueued}
	if _, err := b1.CreateJob(ctx, j); err != nil {
		t.Fatalf("write on n1: %v", err)
	}
	if got, _, err := b3.GetJob(ctx, j.ID); err != nil || got.ID != j.ID {
		t.Fatalf("read on n3: %+v %v", got, err)
	}

	foreign := testcert.NewCA(t).Write(t, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	ours := ca.Write(t, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	for i, tc := range []struct {
		name, refusal string // refusal: what a member logs
		cfg           EmbeddedConfig
	}{
		{"plain routes", "does not look like a TLS handshake", EmbeddedConfig{}},
		// It trusts the members, but they do not trust it.
		{"certificate of another CA", "signed by unknown authority", EmbeddedConfig{ClusterTLSCert: foreign.Cert, ClusterTLSKey: foreign.Key, ClusterTLSCA: ours.CA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused := func() int {
				n := 0
				for _, l := range logs {
					n += l.count("TLS route handshake error", tc.refusal)
				}
				return n
			}
			before := refused()
			tc.cfg.Name, tc.cfg.Cluster, tc.cfg.Routes = "outsider", addrs[3+i], routes
			out := startNode(t, tc.cfg)
			testenv.Eventually(t, "a member to log that it refused the outsider's route", func() bool { return refused() > before })
			if n := out.srv.NumRemotes(); n != 0 {
				t.Errorf("the outsider routes to %d nodes, want none", n)
			}
			if got := remotes(); got != formed {
				t.Errorf("after the outsider's try: %s, want %s", got, formed)
			}
			for i, l := range logs {
				if m := l.last("TLS route handshake error", tc.refusal); m != "" {
					t.Logf("n%d logged: %s", i+1, m)
				}
			}
			out.Shutdown()
		})
	}
}

// startNode starts an embedded cluster node with its store in a temp dir
// and its client port on a free loopback port.
func startNode(t *testing.T, ecfg EmbeddedConfig) *Embedded {
	t.Helper()
	ecfg.StoreDir, ecfg.Listen = t.TempDir(), "127.0.0.1:0"
	emb, err := StartEmbedded(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	return emb
}

// openR3 opens Conveyor's streams and buckets, with three replicas, over
// an in-process connection to node.
func openR3(t *testing.T, ctx context.Context, node *Embedded) *Broker {
	t.Helper()
	nc, err := node.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := Open(ctx, nc, Config{Replicas: 3, Heartbeat: time.Second})
	if err != nil {
		t.Fatalf("open with 3 replicas: %v", err)
	}
	return b
}

// logWatch is a slog.Handler that keeps the messages logged to it, each
// followed by its attributes.
type logWatch struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (l *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logWatch) WithGroup(string) slog.Handler            { return l }

func (l *logWatch) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := r.Message
	r.Attrs(func(a slog.Attr) bool {
		m += " " + a.String()
		return true
	})
	l.msgs = append(l.msgs, m)
	return nil
}

// count returns how many messages contain every one of parts.
func (l *logWatch) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if containsAll(m, parts) {
			n++
		}
	}
	return n
}

// last returns the last message that contains every one of parts, or "".
func (l *logWatch) last(parts ...string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.msgs) - 1; i >= 0; i-- {
		if containsAll(l.msgs[i], parts) {
			return l.msgs[i]
		}
	}
	return ""
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
