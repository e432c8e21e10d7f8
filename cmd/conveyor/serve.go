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

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/app"
)

const serveUsage = `usage: conveyor serve [--config FILE] [--log-format text|json] [--log-level LEVEL]

Runs Conveyor in one process: an embedded NATS JetStream broker (files under
data_dir), the HTTP API and a runner for the configured algorithms. Without
--config it serves the built-in Go algorithms (is_prime, sleep) on
127.0.0.1:8080 with data in ./data. Every config key can also be set by a
CONVEYOR_* environment variable, e.g. CONVEYOR_HTTP_ADDR=127.0.0.1:9000,
CONVEYOR_DATA_DIR=/var/lib/conveyor.
`

// cmdServe runs `conveyor serve` until ctx is canceled (SIGINT, SIGTERM).
func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	path := fs.String("config", os.Getenv("CONVEYOR_CONFIG"), "config file (YAML); env CONVEYOR_CONFIG")
	format := fs.String("log-format", "text", "log format: text or json")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
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
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	tuneGC()
	if *pprofAddr != "" {
		go func() { log.Warn("pprof server", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	a, err := app.Start(ctx, cfg, log)
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
