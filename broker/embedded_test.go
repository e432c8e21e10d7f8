package broker

import (
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestEmbeddedAuth: with a user and password (or a token) set, the
// embedded broker turns away clients without them, so nobody registers a
// runner without credentials; its in-process connections log in by
// themselves.
func TestEmbeddedAuth(t *testing.T) {
	for name, ecfg := range map[string]EmbeddedConfig{
		"user":  {User: "conveyor", Password: "s3cret"},
		"token": {Token: "t0ken"},
	} {
		t.Run(name, func(t *testing.T) {
			ecfg.Listen = "127.0.0.1:0"
			emb, b := open(t, ecfg)
			if err := b.Ping(t.Context()); err != nil {
				t.Fatalf("in-process connection: %v", err)
			}
			url := emb.ClientURL()
			if nc, err := nats.Connect(url); err == nil {
				nc.Close()
				t.Fatal("a client without credentials was let in")
			}
			if nc, err := nats.Connect(url, nats.UserInfo("conveyor", "wrong"), nats.Token("wrong")); err == nil {
				nc.Close()
				t.Fatal("a client with wrong credentials was let in")
			}
			opt := nats.UserInfo(ecfg.User, ecfg.Password)
			if ecfg.Token != "" {
				opt = nats.Token(ecfg.Token)
			}
			nc, err := nats.Connect(url, opt)
			if err != nil {
				t.Fatalf("a client with the credentials: %v", err)
			}
			nc.Close()
		})
	}
}

// TestEmbeddedListen: port 0 is any free port, as with net.Listen, so two
// servers both given 127.0.0.1:0 start side by side (to nats-server, 0 is
// its default 4222, which the second would find taken); a cluster node
// without a client port is refused at once, where nats-server would wait
// for ever to open its routes.
func TestEmbeddedListen(t *testing.T) {
	a, _ := open(t, EmbeddedConfig{Listen: "127.0.0.1:0"})
	b, _ := open(t, EmbeddedConfig{Listen: "127.0.0.1:0"})
	if a.ClientURL() == b.ClientURL() || strings.HasSuffix(a.ClientURL(), ":4222") {
		t.Errorf("client URLs %s and %s: want two free ports", a.ClientURL(), b.ClientURL())
	}
	c, err := StartEmbedded(EmbeddedConfig{StoreDir: t.TempDir(), Cluster: "127.0.0.1:0"})
	if err == nil {
		c.Shutdown()
		t.Fatal("a cluster node without a client port started")
	}
	if !strings.Contains(err.Error(), "listen address") {
		t.Fatalf("a cluster node without a client port: %v", err)
	}
}

// TestEmbeddedClusterName: a cluster node's default name is host-port of
// its cluster address, so that each node has its own; a node on any free
// port (port 0) is refused without a name, rather than named for no port
// like every other such node.
func TestEmbeddedClusterName(t *testing.T) {
	// JetStream in a cluster needs routes; nobody answers on these.
	addrs := testenv.FreeAddrs(t, 2)
	routes := []string{"nats://" + addrs[0]}
	ecfg := EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Cluster: "127.0.0.1:0", Routes: routes}
	emb, err := StartEmbedded(ecfg)
	if err == nil {
		name := emb.srv.Name()
		emb.Shutdown()
		t.Fatalf("a cluster node on port 0 without a name started, named %s", name)
	}
	if !strings.Contains(err.Error(), "needs a name") {
		t.Fatalf("a cluster node on port 0 without a name: %v", err)
	}
	ecfg.Name = "named"
	emb, err = StartEmbedded(ecfg)
	if err != nil {
		t.Fatalf("a named cluster node on port 0: %v", err)
	}
	emb.Shutdown()
	_, port, _ := net.SplitHostPort(addrs[1])
	emb, err = StartEmbedded(EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Cluster: addrs[1], Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	if name := emb.srv.Name(); !strings.HasSuffix(name, "-"+port) {
		t.Errorf("a node on cluster port %s is named %s, want host-%s", port, name, port)
	}
}
