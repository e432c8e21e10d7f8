package broker

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// errCodeSubjectOverlap is JetStream's refusal of a stream whose subjects
// another stream has.
const errCodeSubjectOverlap jetstream.ErrorCode = 10065

// connect starts an embedded server in a temp dir and connects to it,
// without opening a broker.
func connect(t *testing.T) *nats.Conn {
	t.Helper()
	_, nc := connectTo(t, EmbeddedConfig{})
	return nc
}

// connectTo starts an embedded server configured as ecfg in a temp dir
// and connects to it; both are stopped when the test ends.
func connectTo(t *testing.T, ecfg EmbeddedConfig) (*Embedded, *nats.Conn) {
	t.Helper()
	ecfg.StoreDir = t.TempDir()
	emb, err := StartEmbedded(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return emb, nc
}

// TestOpenRefused: a stream JetStream refuses for good (another stream
// has its subjects) fails Open at once with JetStream's error, rather than
// after OpenWait of tries that cannot succeed; and the failed Open leaves
// the connection as it found it.
func TestOpenRefused(t *testing.T) {
	nc := connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "SQUATTER", Subjects: []string{"conveyor.queue.>"}}); err != nil {
		t.Fatal(err)
	}
	// Open would wait an hour for what never comes; the test waits less.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = Open(ctx, nc, Config{OpenWait: time.Hour})
	if ctx.Err() != nil {
		t.Fatalf("Open kept retrying a refusal until the test's deadline: %v", err)
	}
	var jserr jetstream.JetStreamError
	if !errors.As(err, &jserr) || jserr.APIError() == nil || jserr.APIError().ErrorCode != errCodeSubjectOverlap {
		t.Fatalf("Open: %v, want JetStream's refusal (subjects overlap)", err)
	}
	if nc.DisconnectErrHandler() != nil {
		t.Error("the failed Open left a disconnect handler on the connection")
	}
}

// TestTransient: JetStream's refusals of a request as malformed are for
// good, but a cluster short of nodes, or changing members, is waited out.
func TestTransient(t *testing.T) {
	apiErr := func(status int, code jetstream.ErrorCode) error {
		return &jetstream.APIError{Code: status, ErrorCode: code, Description: "test"}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"timeout", context.DeadlineExceeded, true},
		{"no responders", nats.ErrNoResponders, true},
		{"connection closed", nats.ErrConnectionClosed, false},
		{"subjects overlap", apiErr(400, errCodeSubjectOverlap), false},
		{"no suitable peers", apiErr(400, errCodeNoPeers), true},
		{"member change", apiErr(400, errCodeMemberChange), true},
		{"create raced", apiErr(400, errCodeStreamNameExists), true},
		{"temporarily unavailable", apiErr(503, 10008), true},
		{"key exists", jetstream.ErrKeyExists, false},
	} {
		if got := transient(t.Context(), tc.err); got != tc.want {
			t.Errorf("%s: transient = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestOpenWaitsForPeers: a cluster short of the nodes for Replicas refuses
// the streams (no suitable peers for placement) until another node joins,
// and Open waits for it.
func TestOpenWaitsForPeers(t *testing.T) {
	addrs := testenv.FreeAddrs(t, 3)
	routes := []string{"nats://" + addrs[0], "nats://" + addrs[1]}
	n1 := startNode(t, EmbeddedConfig{Name: "n1", Cluster: addrs[0], Routes: routes})
	startNode(t, EmbeddedConfig{Name: "n2", Cluster: addrs[1], Routes: routes})
	nc, err := n1.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	logs := &logWatch{}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	opened := make(chan error, 1)
	go func() {
		_, err := Open(ctx, nc, Config{Replicas: 3, Logger: slog.New(logs)})
		opened <- err
	}()
	testenv.Eventually(t, "Open to be refused for want of peers", func() bool {
		select {
		case err := <-opened:
			t.Fatalf("Open returned while the cluster was short of nodes: %v", err)
		default:
		}
		return logs.count("JetStream not ready", "no suitable peers") > 0
	})
	startNode(t, EmbeddedConfig{Name: "n3", Cluster: addrs[2], Routes: routes})
	if err := <-opened; err != nil {
		t.Fatalf("Open once a third node joined: %v", err)
	}
}
