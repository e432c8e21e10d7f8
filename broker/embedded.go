package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures the in-process NATS server.
type EmbeddedConfig struct {
	// StoreDir holds JetStream's files. Required.
	StoreDir string
	// SyncInterval is how often JetStream fsyncs; zero means 1s. With
	// SyncAlways every write is synced before it is acknowledged.
	SyncInterval time.Duration
	SyncAlways   bool
	// Listen is host:port for NATS clients; empty opens no TCP port. An
	// empty host means 127.0.0.1, port 0 any free port (see ClientURL).
	Listen string
	// Name is the server's name, unique within a cluster. Default
	// "conveyor", or host-port of Cluster when clustered; a cluster node
	// on port 0 needs one.
	Name string
	// Cluster is host:port on which the server accepts routes from the
	// other nodes of its cluster; empty runs a single node. An empty host
	// means 127.0.0.1. A cluster node needs Listen too: nats-server opens
	// its routes only once its client port is open.
	Cluster string
	// ClusterName names the cluster; every node must use the same. Default
	// "conveyor".
	ClusterName string
	// Routes are the nats://host:port cluster addresses of the other nodes
	// (listing this node's own too is harmless).
	Routes []string
	// User and Password, or Token, when set, are required of every client
	// and, for a cluster, of every route (a token alone is the routes'
	// password).
	User, Password, Token string
	// TLSCert and TLSKey, PEM files, make the client port accept TLS
	// connections only; with TLSClientCA, clients must present a
	// certificate it signed. In-process connections are not affected.
	TLSCert, TLSKey, TLSClientCA string
	// ClusterTLSCert and ClusterTLSKey, PEM files, with ClusterTLSCA, make
	// the routes between nodes TLS only and verified both ways: the node
	// accepts a route only from a node presenting a certificate
	// ClusterTLSCA signed, and presents its own certificate on the routes
	// it opens, to nodes whose certificates it checks against ClusterTLSCA
	// too. All three or none; they need Cluster. A node without them, or
	// with a certificate another CA signed, cannot join: its routes fail
	// the handshake, and the error is logged.
	ClusterTLSCert, ClusterTLSKey, ClusterTLSCA string
	// Logger, when set, receives the server's notices, warnings and errors
	// (cluster routes, leader elections); nil keeps the server silent.
	Logger *slog.Logger
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv *server.Server
	cfg EmbeddedConfig
}

// StartEmbedded starts the in-process server and waits until it accepts
// connections. It returns an error when the store directory is unusable or
// the server does not come up within 30s (a large store takes a while to
// recover after a crash).
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("embedded broker: store dir is required")
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Second
	}
	opts := &server.Options{
		ServerName:   cfg.Name,
		JetStream:    true,
		StoreDir:     cfg.StoreDir,
		SyncInterval: cfg.SyncInterval,
		SyncAlways:   cfg.SyncAlways,
		DontListen:   cfg.Listen == "",
		NoSigs:       true,
		NoLog:        cfg.Logger == nil,
		// The default 1 MiB would cap job records below http.max_body.
		MaxPayload: 64 << 20,
	}
	var err error
	if cfg.Listen != "" {
		if opts.Host, opts.Port, err = hostPort("listen", cfg.Listen); err != nil {
			return nil, err
		}
	}
	if err := cfg.cluster(opts); err != nil {
		return nil, err
	}
	opts.Username, opts.Password, opts.Authorization = cfg.User, cfg.Password, cfg.Token
	if cfg.TLSCert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSClientCA, Verify: cfg.TLSClientCA != "",
		})
		if err != nil {
			return nil, fmt.Errorf("embedded broker: tls: %w", err)
		}
		opts.TLS, opts.TLSConfig, opts.TLSVerify, opts.TLSTimeout = true, tc, cfg.TLSClientCA != "", 2
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(serverLog{cfg.Logger}, false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded broker: not ready after 30s (store %s)", cfg.StoreDir)
	}
	return &Embedded{srv: srv, cfg: cfg}, nil
}

// cluster sets the cluster options of opts from cfg.
func (cfg *EmbeddedConfig) cluster(opts *server.Options) error {
	if cfg.Cluster == "" {
		if len(cfg.Routes) > 0 {
			return fmt.Errorf("embedded broker: routes need a cluster address to listen on")
		}
		if cfg.ClusterTLSCert != "" || cfg.ClusterTLSKey != "" || cfg.ClusterTLSCA != "" {
			return fmt.Errorf("embedded broker: cluster tls needs a cluster address to listen on")
		}
		if opts.ServerName == "" {
			opts.ServerName = "conveyor"
		}
		return nil
	}
	if cfg.Listen == "" {
		return fmt.Errorf("embedded broker: a cluster node needs a client listen address too")
	}
	host, port, err := hostPort("cluster", cfg.Cluster)
	if err != nil {
		return err
	}
	if opts.ServerName == "" {
		// JetStream tells the nodes of a cluster apart by name, and knows
		// a node that restarts by it: the name must be unique and stable,
		// which a port chosen as the server starts is not.
		if port == server.RANDOM_PORT {
			return fmt.Errorf("embedded broker: a cluster node on port 0 (any free port) needs a name: the default, host-port, needs a fixed port")
		}
		h, _ := os.Hostname()
		opts.ServerName = fmt.Sprintf("%s-%d", h, port)
	}
	name := cfg.ClusterName
	if name == "" {
		name = "conveyor"
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: host, Port: port}
	if opts.Cluster.TLSConfig, err = cfg.clusterTLS(); err != nil {
		return err
	}
	// On shutdown, a node hands the leadership of its streams to others,
	// then closes its clients over a second, so that they move to the other
	// nodes: see Shutdown.
	opts.LameDuckDuration, opts.LameDuckGracePeriod = time.Second, 100*time.Millisecond
	user, pass := cfg.User, cfg.Password
	if user == "" && cfg.Token != "" {
		user, pass = "route", cfg.Token
	}
	opts.Cluster.Username, opts.Cluster.Password = user, pass
	for _, r := range cfg.Routes {
		u, err := url.Parse(strings.TrimSpace(r))
		if err != nil || u.Host == "" {
			return fmt.Errorf("embedded broker: route %q: want nats://host:port", r)
		}
		if u.User == nil && user != "" {
			u.User = url.UserPassword(user, pass)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// clusterTLS returns the TLS config of the routes, or nil for plain ones.
// A node is the server of the routes it accepts and the client of those it
// opens, so, as nats-server's own cluster tls block does, both ends present
// a certificate and verify the other's against the one CA.
func (cfg *EmbeddedConfig) clusterTLS() (*tls.Config, error) {
	if cfg.ClusterTLSCert == "" && cfg.ClusterTLSKey == "" && cfg.ClusterTLSCA == "" {
		return nil, nil
	}
	if cfg.ClusterTLSCert == "" || cfg.ClusterTLSKey == "" || cfg.ClusterTLSCA == "" {
		return nil, fmt.Errorf("embedded broker: cluster tls needs a cert, its key and the CA of the nodes")
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: cfg.ClusterTLSCert, KeyFile: cfg.ClusterTLSKey, CaFile: cfg.ClusterTLSCA, Verify: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded broker: cluster tls: %w", err)
	}
	tc.RootCAs = tc.ClientCAs
	return tc, nil
}

// hostPort splits a host:port listen address; an empty host is 127.0.0.1,
// and port 0 any free port, as with net.Listen (to nats-server, 0 is its
// default port, 4222 or 6222).
func hostPort(what, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("embedded broker: %s %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("embedded broker: %s %q: bad port", what, addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// Connect opens an in-process client connection: no socket, no port.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1)}
	if e.cfg.User != "" {
		opts = append(opts, nats.UserInfo(e.cfg.User, e.cfg.Password))
	}
	if e.cfg.Token != "" {
		opts = append(opts, nats.Token(e.cfg.Token))
	}
	return nats.Connect("", opts...)
}

// ClientURL returns the server's nats:// URL, or "" when it opens no port.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits until it is down. A cluster node
// first goes into lame-duck mode: it transfers the leadership of its
// streams and consumers to other nodes and closes its clients over a
// second, so that a graceful stop costs the cluster no election. Safe to
// call twice.
func (e *Embedded) Shutdown() {
	if e.cfg.Cluster != "" {
		e.srv.LameDuckShutdown()
	}
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
