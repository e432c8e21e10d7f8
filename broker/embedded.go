package broker

import (
	"fmt"
	"net"
	"strconv"
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
	// Listen is host:port for NATS clients; empty opens no TCP port.
	Listen string
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv *server.Server
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
		ServerName:   "conveyor",
		JetStream:    true,
		StoreDir:     cfg.StoreDir,
		SyncInterval: cfg.SyncInterval,
		SyncAlways:   cfg.SyncAlways,
		DontListen:   cfg.Listen == "",
		NoSigs:       true,
		NoLog:        true,
		// The default 1 MiB would cap job records below http.max_body.
		MaxPayload: 64 << 20,
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded broker: listen %q: %w", cfg.Listen, err)
		}
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("embedded broker: listen %q: bad port", cfg.Listen)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		opts.Host = host
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded broker: not ready after 30s (store %s)", cfg.StoreDir)
	}
	return &Embedded{srv: srv}, nil
}

// Connect opens an in-process client connection: no socket, no port.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1))
}

// ClientURL returns the server's nats:// URL, or "" when it opens no port.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits until it is down. Safe to call twice.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
