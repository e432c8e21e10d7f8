// Package app assembles a Conveyor process from its parts: the embedded
// broker, the gateway and the runner, as `conveyor serve` runs them.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/gateway"
	"github.com/conveyor-run/conveyor/metrics"
	"github.com/conveyor-run/conveyor/runner"
)

// App is a running `conveyor serve`: broker, runner and gateway in one
// process.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	emb     *broker.Embedded
	conns   []*nats.Conn
	broker  *broker.Broker // the gateway's
	rbroker *broker.Broker // the runner's
	runner  *runner.Runner
	gateway *gateway.Gateway
	srv     *http.Server
	ln      net.Listener
	served  chan error
}

// Start brings up the embedded broker, the runner and the gateway, and
// starts serving HTTP on cfg.HTTP.Addr. It returns once requests are being
// served, or the first error; on error everything started is stopped.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	registerAlgorithms()
	a := &App{cfg: cfg, log: log, served: make(chan error, 1)}
	if err := a.start(ctx); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

func (a *App) start(ctx context.Context) (err error) {
	cfg, log := a.cfg, a.log
	sync, always := time.Second, cfg.Broker.Sync == "always"
	if !always {
		sync, _ = time.ParseDuration(cfg.Broker.Sync)
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if a.emb, err = broker.StartEmbedded(broker.EmbeddedConfig{
		StoreDir: filepath.Join(dir, "jetstream"), SyncInterval: sync, SyncAlways: always, Listen: cfg.Broker.Listen,
	}); err != nil {
		return err
	}
	// The gateway and the runner each get their own connection, as they
	// have when they run as separate processes: one connection's read loop
	// would otherwise serialize both.
	if a.broker, err = a.open(ctx, "conveyor serve gateway"); err != nil {
		return err
	}
	if a.rbroker, err = a.open(ctx, "conveyor serve runner"); err != nil {
		return err
	}
	m := metrics.New()
	if a.runner, err = runner.New(ctx, runner.Config{
		Broker: a.rbroker, Algorithms: cfg.Algorithms, ShutdownGrace: cfg.ShutdownGrace.Std(), Logger: log, Metrics: m,
	}); err != nil {
		return err
	}
	runnerUp := make(chan struct{})
	if a.gateway, err = gateway.New(gateway.Config{
		Broker: a.broker, MaxBody: int64(cfg.HTTP.MaxBody), Logger: log, Metrics: m,
		Ready: map[string]func(context.Context) error{"runner": func(context.Context) error {
			select {
			case <-runnerUp:
				return nil
			default:
				return errors.New("starting")
			}
		}},
	}); err != nil {
		return err
	}
	if err := a.gateway.Start(ctx); err != nil {
		return err
	}
	if err := a.runner.Start(ctx); err != nil {
		return err
	}
	var names []string
	for _, alg := range a.runner.Algorithms() {
		names = append(names, alg.Name)
	}
	if err := a.gateway.AwaitAlgorithms(ctx, names...); err != nil {
		return err
	}
	close(runnerUp)
	if a.ln, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return err
	}
	a.srv = &http.Server{
		Handler:           a.gateway.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { a.served <- a.srv.Serve(a.ln) }()
	log.Info("conveyor is serving", "http", "http://"+a.ln.Addr().String(), "data_dir", dir,
		"algorithms", len(a.runner.Algorithms()), "broker", "embedded")
	return nil
}

// open connects to the embedded broker and opens Conveyor's streams on it.
func (a *App) open(ctx context.Context, name string) (*broker.Broker, error) {
	nc, err := a.emb.Connect(name)
	if err != nil {
		return nil, fmt.Errorf("connect to the embedded broker: %w", err)
	}
	a.conns = append(a.conns, nc)
	return broker.Open(ctx, nc, broker.Config{
		Replicas: a.cfg.NATS.Replicas, Retention: a.cfg.Retention.Std(), Heartbeat: a.cfg.Heartbeat.Std(),
	})
}

// Addr returns the address the HTTP API listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Runner returns the process's runner.
func (a *App) Runner() *runner.Runner { return a.runner }

// Done is closed when the HTTP server stops by itself, with its error.
func (a *App) Done() <-chan error { return a.served }

// Stop shuts down in order: HTTP (requests in flight get a few seconds),
// the runner (running jobs get the shutdown grace, then go back to the
// queue), the gateway's watches, the connection, the broker.
func (a *App) Stop() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.srv.Shutdown(ctx)
		cancel()
	} else if a.ln != nil {
		_ = a.ln.Close()
	}
	if a.runner != nil {
		a.runner.Stop()
	}
	if a.gateway != nil {
		a.gateway.Stop()
	}
	for _, nc := range a.conns {
		_ = nc.Drain()
		nc.Close()
	}
	if a.emb != nil {
		a.emb.Shutdown()
	}
}
