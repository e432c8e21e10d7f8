package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/app"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// A server command runs some roles of Conveyor until SIGINT or SIGTERM.
type server struct {
	name  string
	roles app.Role
	usage string
}

var servers = map[string]server{
	"serve": {"serve", app.Serve, `usage: conveyor serve [--config FILE] [flags]

Runs Conveyor in one process: an embedded NATS JetStream broker (files under
data_dir), the HTTP API and a runner for the configured algorithms. Without
--config it serves the built-in Go algorithms (is_prime, sleep) on
127.0.0.1:8080 with data in ./data. Every config key can also be set by a
CONVEYOR_* environment variable, e.g. CONVEYOR_HTTP_ADDR=127.0.0.1:9000,
CONVEYOR_DATA_DIR=/var/lib/conveyor.
`},
	"gateway": {"gateway", app.RoleGateway, `usage: conveyor gateway --nats URL [--config FILE] [flags]

Runs the HTTP API alone against a NATS JetStream server (or cluster): any
number of gateways can serve one broker. A gateway needs no algorithms in
its config; it learns them from the runners.
`},
	"runner": {"runner", app.RoleRunner, `usage: conveyor runner --nats URL --config FILE [flags]

Runs the algorithms of the config alone against a NATS JetStream server (or
cluster); they appear on every gateway while the runner is alive.
`},
	"broker": {"broker", app.RoleBroker, `usage: conveyor broker [--listen HOST:PORT] [--data-dir DIR] [--cluster HOST:PORT --routes URLS] [flags]

Runs the embedded NATS JetStream server alone, listening for gateways and
runners on --listen (default 127.0.0.1:4222). With --cluster and --routes it
is one node of a cluster: start three, each with its own --listen,
--cluster, --data-dir and the others' cluster addresses as --routes, and
give gateways and runners nats.replicas: 3. Clients must log in when
nats.user/nats.password or nats.token are set (CONVEYOR_NATS_USER, ...).
broker.tls makes the client port TLS only (CONVEYOR_BROKER_TLS_CERT, ...);
broker.cluster_tls makes the routes between nodes TLS only, each node
presenting its certificate and checking the others' against the CA
(CONVEYOR_BROKER_CLUSTER_TLS_CA, _CERT and _KEY, on every node).
`},
}

// cmdServer runs one of the server commands until ctx is canceled.
func cmdServer(ctx context.Context, e *env, s server, args []string) error {
	fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), s.usage); fs.PrintDefaults() }
	path := fs.String("config", os.Getenv("CONVEYOR_CONFIG"), "config file (YAML); env CONVEYOR_CONFIG")
	format := fs.String("log-format", "text", "log format: text or json")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	var natsURL, listen, dataDir, cluster, routes, name *string
	var insecure *bool
	if s.roles&app.RoleGateway != 0 {
		insecure = fs.Bool("insecure", false, "serve an API without auth tokens on a non-loopback address")
	}
	if s.roles&app.RoleBroker == 0 {
		natsURL = fs.String("nats", "", "NATS server URLs, comma-separated (sets nats.url)")
	}
	if s.roles == app.RoleBroker {
		listen = fs.String("listen", "127.0.0.1:4222", "host:port for NATS clients (sets broker.listen)")
		dataDir = fs.String("data-dir", "", "where JetStream keeps its files (sets data_dir)")
		cluster = fs.String("cluster", "", "host:port this node accepts cluster routes on (sets broker.cluster)")
		routes = fs.String("routes", "", "nats://host:port cluster addresses of the other nodes, comma-separated (sets broker.routes)")
		name = fs.String("name", "", "node name, unique in the cluster; default host-port of --cluster (sets broker.name)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error(), printed: true}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	log, err := newLogger(*format, *level)
	if err != nil {
		return err
	}
	environ := os.Environ()
	if natsURL != nil && *natsURL != "" {
		environ = append(environ, "CONVEYOR_NATS_URL="+*natsURL)
	}
	if listen != nil && *listen != "" {
		environ = append(environ, "CONVEYOR_BROKER_LISTEN="+*listen)
	}
	if insecure != nil && *insecure {
		environ = append(environ, "CONVEYOR_HTTP_INSECURE=true")
	}
	if dataDir != nil && *dataDir != "" {
		environ = append(environ, "CONVEYOR_DATA_DIR="+*dataDir)
	}
	if cluster != nil && *cluster != "" {
		environ = append(environ, "CONVEYOR_BROKER_CLUSTER="+*cluster)
	}
	if routes != nil && *routes != "" {
		var quoted []string
		for _, r := range strings.Split(*routes, ",") {
			if r = strings.TrimSpace(r); r != "" {
				quoted = append(quoted, strconv.Quote(r))
			}
		}
		environ = append(environ, "CONVEYOR_BROKER_ROUTES=["+strings.Join(quoted, ", ")+"]")
	}
	if name != nil && *name != "" {
		environ = append(environ, "CONVEYOR_BROKER_NAME="+*name)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	if s.roles&app.RoleRunner == 0 {
		cfg.Algorithms = nil // a gateway or broker serves no algorithms
	} else if *path == "" && os.Getenv("CONVEYOR_ALGORITHMS") == "" {
		cfg.Algorithms = append(cfg.Algorithms, pythonExamples(log)...)
	}
	tuneGC()
	if *pprofAddr != "" {
		go func() { log.Warn("pprof server", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	a, err := app.StartRoles(ctx, cfg, s.roles, log)
	if err != nil {
		return err
	}
	defer a.Stop()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-a.Done():
		return fmt.Errorf("http server: %w", err)
	}
}

// pythonExamples is the Python example algorithms when serve runs with no
// config from the repository, where they are, on a machine with python3:
// a classifier, a long batch job and the describe stage, served by
// persistent workers, and the number_facts pipeline that mixes Go and
// Python stages.
func pythonExamples(log *slog.Logger) []config.Algorithm {
	if _, err := exec.LookPath("python3"); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join("examples", "python", "classifier.py")); err != nil {
		return nil
	}
	log.Info("serving the Python examples too", "dir", "examples/python")
	a := workerkind.Entry(config.Algorithm{Workers: config.Workers{Min: 1, Max: 2}}, workerkind.Options{Process: spawn.Options{
		Command: []string{"python3", "-m", "conveyor.worker", "classifier", "batch", "describe"},
		Env:     map[string]string{"PYTHONPATH": filepath.Join("examples", "python")},
	}})
	facts := config.Algorithm{Name: "number_facts", Pipeline: []string{"factorize", "describe", "render"},
		Description: "Facts about a number: factorize (Go), describe (Python), render (Go)."}
	a.WithDefaults()
	facts.WithDefaults()
	return []config.Algorithm{a, facts}
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
