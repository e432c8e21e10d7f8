// Package app assembles a Conveyor process from its parts: the embedded
// broker, the gateway and the runner, as `conveyor serve` runs them.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/gateway"
	"github.com/conveyor-run/conveyor/metrics"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/services"
)

// Role is a part of Conveyor a process runs.
type Role int

// The roles. Serve is all three in one process.
const (
	RoleBroker  Role = 1 << iota // the embedded NATS server
	RoleGateway                  // the HTTP API
	RoleRunner                   // the runner of the configured algorithms
	Serve       = RoleBroker | RoleGateway | RoleRunner
)

// App is a running Conveyor process: `conveyor serve` (every role, with
// the embedded broker), or `conveyor broker`, `gateway` or `runner` alone.
// The gateway and the runner take the same code paths whichever way they
// reach the broker.
type App struct {
	cfg     config.Config
	roles   Role
	log     *slog.Logger
	emb     *broker.Embedded
	conns   []*nats.Conn
	broker  *broker.Broker // the gateway's
	rbroker *broker.Broker // the runner's
	runner  *runner.Runner
	gateway *gateway.Gateway
	// mutexes passes mutex keys on for the runner and the gateway alike
	// (package services): run by every process with either.
	mutexes *services.Mutexes
	// callbacks delivers completion callbacks for both (nil without
	// callbacks.allow_hosts, or without a runner: the gateway runs its
	// own).
	callbacks *services.Callbacks
	// files removes the files past their keep time: run by the gateways.
	files  *services.Files
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// Start brings up the embedded broker, the runner and the gateway, and
// starts serving HTTP on cfg.HTTP.Addr: `conveyor serve`.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return StartRoles(ctx, cfg, Serve, log)
}

// StartRoles starts the given roles. Without RoleBroker the process
// connects to the NATS server at cfg.NATS.URL. It returns once the roles
// are up (the gateway serving HTTP), or the first error; on error
// everything started is stopped.
func StartRoles(ctx context.Context, cfg config.Config, roles Role, log *slog.Logger) (*App, error) {
	registerAlgorithms()
	a := &App{cfg: cfg, roles: roles, log: log, served: make(chan error, 1)}
	if err := a.start(ctx); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

func (a *App) start(ctx context.Context) (err error) {
	cfg, log := a.cfg, a.log
	where := cfg.NATS.URL
	if a.roles&RoleBroker != 0 {
		if err := a.startBroker(); err != nil {
			return err
		}
		where = "embedded"
		if url := a.emb.ClientURL(); url != "" {
			where += " " + url
		}
	} else if cfg.NATS.URL == "" {
		return errors.New("no broker: set nats.url (--nats, CONVEYOR_NATS_URL)")
	}
	m := metrics.New()
	runnerUp := make(chan struct{})
	// The gateway and the runner each get their own connection, as they
	// have when they run as separate processes: one connection's read loop
	// would otherwise serialize both.
	if a.roles&RoleRunner != 0 {
		if a.rbroker, err = a.open(ctx, "conveyor runner"); err != nil {
			return err
		}
		// With a gateway in the process too, its live view spares the
		// sweep reads (a.gateway is set before the service starts).
		a.mutexes = services.NewMutexes(services.MutexesConfig{Broker: a.rbroker, Logger: log, Status: func(id string) (conveyor.Status, bool) {
			if a.gateway == nil {
				return "", false
			}
			return a.gateway.LiveStatus(id)
		}})
		calls, err := callbacks(cfg.Callbacks)
		if err != nil {
			return err
		}
		if len(calls.AllowHosts) > 0 {
			a.callbacks = services.NewCallbacks(calls, a.rbroker, log)
			if err := m.Register(a.callbacks.Collector()); err != nil {
				return err
			}
		}
		if a.runner, err = runner.New(ctx, runner.Config{
			Broker: a.rbroker, Algorithms: cfg.Algorithms, ShutdownGrace: cfg.ShutdownGrace.Std(), Logger: log, Metrics: m,
			MaxLogBytes: int(cfg.Logs.MaxPerJob), GPUs: gpus(cfg.Resources), Labels: cfg.Labels, Mutexes: a.mutexes, Callbacks: a.callbacks,
		}); err != nil {
			return err
		}
	} else {
		close(runnerUp)
	}
	if a.roles&RoleGateway != 0 {
		if a.broker, err = a.open(ctx, "conveyor gateway"); err != nil {
			return err
		}
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return err
		}
		disk := &storage{dir: dir, minFree: uint64(cfg.Broker.MinFree), free: freeSpace}
		ready := map[string]func(context.Context) error{"storage": disk.check}
		if a.runner != nil {
			ready["runner"] = func(context.Context) error {
				select {
				case <-runnerUp:
					return nil
				default:
					return errors.New("starting")
				}
			}
		}
		toks, err := tokens(cfg.Auth)
		if err != nil {
			return err
		}
		if len(toks) == 0 && !loopback(cfg.HTTP.Addr) && !cfg.HTTP.Insecure {
			return fmt.Errorf("refusing to serve the API on %s without auth tokens: configure auth.tokens, bind a loopback address, or pass --insecure", cfg.HTTP.Addr)
		}
		if len(toks) == 0 {
			log.Info("no API tokens configured: the API is open to anyone who can reach it", "http", cfg.HTTP.Addr)
		}
		calls, err := callbacks(cfg.Callbacks)
		if err != nil {
			return err
		}
		var schedules []conveyor.Schedule
		for _, sc := range cfg.Schedules {
			s, err := sc.Schedule()
			if err != nil {
				return fmt.Errorf("schedule %s: %w", sc.Name, err)
			}
			schedules = append(schedules, s)
		}
		if a.gateway, err = gateway.New(gateway.Config{
			Broker: a.broker, MaxBody: int64(cfg.HTTP.MaxBody), Logger: log, Metrics: m, Ready: ready, Tokens: toks,
			Callbacks: calls, MaxWait: cfg.HTTP.MaxWait.Std(), MaxStreams: cfg.HTTP.MaxEventStreams,
			BodyTimeout: cfg.HTTP.BodyTimeout.Std(), IPHosts: !loopback(cfg.HTTP.Addr), IndexDir: filepath.Join(cfg.DataDir, "index"),
			ArchiveAfter: archiveAfter(cfg.History), Schedules: schedules, Quotas: quotasOf(cfg.Quotas),
			Storage: disk.check, MaxFileSize: int64(cfg.Files.MaxSize), Mutexes: a.mutexes, Deliverer: a.callbacks,
		}); err != nil {
			return err
		}
		if err := a.gateway.Start(ctx); err != nil {
			return err
		}
	}
	if a.mutexes != nil {
		a.mutexes.Start(ctx)
	}
	if a.broker != nil {
		// Gateways sweep: a sweep reads every file's description, so
		// runners do not add theirs, and a file past its time is refused
		// on read whether or not its bytes are gone yet.
		a.files = services.NewFiles(services.FilesConfig{Broker: a.broker, Logger: log})
		a.files.Start(ctx)
	}
	if a.callbacks != nil {
		if err := a.callbacks.Start(ctx); err != nil {
			return err
		}
	}
	if a.runner != nil {
		if err := a.runner.Start(ctx); err != nil {
			return err
		}
		if a.gateway != nil {
			var names []string
			for _, alg := range a.runner.Algorithms() {
				names = append(names, alg.Name)
			}
			if err := a.gateway.AwaitRunner(ctx, a.runner.ID(), names...); err != nil {
				return err
			}
		}
		close(runnerUp)
	}
	if a.gateway != nil {
		if err := a.serveHTTP(); err != nil {
			return err
		}
	}
	attrs := []any{"broker", where}
	if a.ln != nil {
		attrs = append(attrs, "http", a.URL())
	}
	if a.runner != nil {
		attrs = append(attrs, "algorithms", len(a.runner.Algorithms()))
	}
	log.Info("conveyor is up", attrs...)
	return nil
}

// startBroker starts the embedded NATS server with its files in data_dir.
func (a *App) startBroker() error {
	sync, always := time.Second, a.cfg.Broker.Sync == "always"
	if !always {
		sync, _ = time.ParseDuration(a.cfg.Broker.Sync)
	}
	dir, err := filepath.Abs(a.cfg.DataDir)
	if err != nil {
		return err
	}
	b, n := a.cfg.Broker, a.cfg.NATS
	ecfg := broker.EmbeddedConfig{
		StoreDir: filepath.Join(dir, "jetstream"), SyncInterval: sync, SyncAlways: always, Listen: b.Listen,
		Name: b.Name, Cluster: b.Cluster, Routes: b.Routes, User: n.User, Password: n.Password, Token: n.Token,
		TLSCert: b.TLS.Cert, TLSKey: b.TLS.Key, TLSClientCA: b.TLS.CA,
		ClusterTLSCert: b.ClusterTLS.Cert, ClusterTLSKey: b.ClusterTLS.Key, ClusterTLSCA: b.ClusterTLS.CA,
	}
	if a.roles == RoleBroker {
		ecfg.Logger = a.log
	}
	a.emb, err = broker.StartEmbedded(ecfg)
	return err
}

// serveHTTP starts serving the gateway on cfg.HTTP.Addr.
func (a *App) serveHTTP() (err error) {
	if a.ln, err = net.Listen("tcp", a.cfg.HTTP.Addr); err != nil {
		return err
	}
	a.srv = &http.Server{
		Handler:           a.gateway.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Without it an idle keep-alive connection is held for ever.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if tc := a.cfg.HTTP.TLS; tc.Cert != "" {
		cert, err := tls.LoadX509KeyPair(tc.Cert, tc.Key)
		if err != nil {
			return fmt.Errorf("http.tls: %w", err)
		}
		a.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		go func() { a.served <- a.srv.ServeTLS(a.ln, "", "") }()
		return nil
	}
	go func() { a.served <- a.srv.Serve(a.ln) }()
	return nil
}

// MaxHeaderBytes caps the request line and headers of an API request;
// past it the server answers 431.
const MaxHeaderBytes = 64 << 10

// open connects to the broker — in process when it is embedded — and
// opens Conveyor's streams on it.
func (a *App) open(ctx context.Context, name string) (*broker.Broker, error) {
	var nc *nats.Conn
	var err error
	if a.emb != nil {
		nc, err = a.emb.Connect(name)
	} else {
		nc, err = dial(ctx, a.cfg.NATS, name, a.log)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to the broker: %w", err)
	}
	a.conns = append(a.conns, nc)
	return broker.Open(ctx, nc, broker.Config{
		Replicas: a.cfg.NATS.Replicas, Retention: a.cfg.Retention.Std(), Heartbeat: a.cfg.Heartbeat.Std(), Logger: a.log,
	})
}

// Addr returns the address the HTTP API listens on ("" without a gateway).
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// URL returns the base URL of the HTTP API: https when it serves TLS.
func (a *App) URL() string {
	if a.ln == nil {
		return ""
	}
	if a.cfg.HTTP.TLS.Cert != "" {
		return "https://" + a.ln.Addr().String()
	}
	return "http://" + a.ln.Addr().String()
}

// Runner returns the process's runner.
func (a *App) Runner() *runner.Runner { return a.runner }

// Done delivers the HTTP server's error if it stops by itself.
func (a *App) Done() <-chan error { return a.served }

// Stop shuts down HTTP (requests in flight get a few seconds) and, at the
// same time, the runner (running jobs get the shutdown grace, counted from
// the call, then go back to the queue); then the gateway's watches, the
// connection, the broker.
func (a *App) Stop() {
	// The runner's shutdown grace runs from now, alongside the HTTP
	// server's, not after it: waiting first for open requests (long polls,
	// event streams) to end added up to 5 s to the documented grace.
	var runnerDone sync.WaitGroup
	if a.runner != nil {
		runnerDone.Add(1)
		go func() {
			defer runnerDone.Done()
			a.runner.Stop()
		}()
	}
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := a.srv.Shutdown(ctx)
		cancel()
		a.log.Debug("http server stopped", "err", err)
	} else if a.ln != nil {
		_ = a.ln.Close()
	}
	runnerDone.Wait()
	if a.gateway != nil {
		a.gateway.Stop()
	}
	if a.mutexes != nil {
		a.mutexes.Stop()
	}
	if a.files != nil {
		a.files.Stop()
	}
	if a.callbacks != nil {
		a.callbacks.Stop()
	}
	for _, nc := range a.conns {
		// Flush, then close: the last acks and naks (a job or a callback
		// handed back) must reach the broker, or they wait out AckWait.
		// (Drain returns at once and drains in the background, so a Close
		// right after it dropped them.)
		_ = nc.FlushTimeout(2 * time.Second)
		nc.Close()
	}
	if a.emb != nil {
		a.emb.Shutdown()
	}
}

// archiveAfter maps config.History to gateway.Config.ArchiveAfter.
func archiveAfter(h config.History) time.Duration {
	if h.KeepFinished {
		return -1
	}
	return h.ArchiveAfter.Std()
}

// quotasOf maps the configuration's quotas to the gateway's.
func quotasOf(q map[string]config.Quota) map[string]gateway.Quota {
	out := make(map[string]gateway.Quota, len(q))
	for tenant, v := range q {
		out[tenant] = gateway.Quota{MaxQueued: v.MaxQueued, MaxRetained: v.MaxRetained}
	}
	return out
}

// gpus is the runner's count of GPUs: resources.gpu, or, without it, as
// many as nvidia-smi lists (-1).
func gpus(r map[string]int) int {
	if n, ok := r["gpu"]; ok {
		return n
	}
	return -1
}
