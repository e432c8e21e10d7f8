// Package gateway serves Conveyor's HTTP API v1: submit, read, wait for,
// list and cancel jobs; the registry of algorithms and runners; health.
//
// A gateway keeps no state of its own that matters: jobs live in the
// broker's store, and the gateway's in-memory index and registry are views
// rebuilt from watches, so any number of gateways can serve one broker.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/metrics"
)

// Config configures a Gateway. Only Broker is required.
type Config struct {
	Broker *broker.Broker
	// MaxBody caps a request body in bytes. Default 10 MiB.
	MaxBody int64
	// MaxWait caps the ?wait= of any request and the timeout of a
	// synchronous call; longer ones are clamped. Default 60s.
	MaxWait time.Duration
	// BodyTimeout bounds the time to send a request body: 408 past it.
	// Default 60s.
	BodyTimeout time.Duration
	// MaxStreams caps the event streams open at once per token (per
	// client address without tokens); past it 429. Default 64.
	MaxStreams int
	// Ready are extra readiness checks for /readyz (e.g. "the runner of
	// this process is up"): each returns nil when ready.
	Ready  map[string]func(context.Context) error
	Logger *slog.Logger
	// Tokens, when any, are required of every request but health checks,
	// each with the scope its endpoint needs. Without them only requests
	// addressed to a loopback host are served (see refuseBrowserAttacks).
	Tokens []Token
	// IPHosts, for an API without tokens served beyond loopback
	// (--insecure), also accepts requests addressed to any IP address,
	// as its clients name it; host names but localhost stay refused.
	IPHosts bool
	// Metrics receives the gateway's metrics and is served at /metrics.
	// Default: a registry of the gateway's own.
	Metrics *metrics.Metrics
	// Callbacks configures completion callbacks; without allowed hosts a
	// submit with a callback_url is refused.
	Callbacks CallbackConfig
}

// Gateway is the HTTP API. Start it, serve Handler, Stop it.
type Gateway struct {
	cfg     Config
	b       *broker.Broker
	log     *slog.Logger
	jobs    *index
	reg     *registry
	handler http.Handler // mux, instrumented
	calls   *deliverer   // nil without callbacks
	streams streams

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	loaded   sync.WaitGroup // initial replay of the three watches
	ready    chan struct{}
	stopOnce sync.Once
	httpObs  sync.Map      // httpKey → prometheus.Observer, see httpSeries
	released chan finished // jobs seen final with a mutex key
	queue    *broker.QueueFollower
}

// New returns a gateway over cfg.Broker, ready to Start.
func New(cfg Config) (*Gateway, error) {
	if cfg.Broker == nil {
		return nil, errors.New("gateway: no broker")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	g := &Gateway{
		cfg:      cfg,
		b:        cfg.Broker,
		log:      cfg.Logger,
		jobs:     newIndex(),
		reg:      newRegistry(3*cfg.Broker.Config().Heartbeat, cfg.Logger),
		ready:    make(chan struct{}),
		released: make(chan finished, 1024),
	}
	g.streams = streams{max: cfg.MaxStreams, open: map[string]int{}}
	if len(cfg.Callbacks.AllowHosts) > 0 {
		g.calls = newDeliverer(cfg.Callbacks, cfg.Broker, cfg.Logger)
	}
	g.routes()
	if err := cfg.Metrics.Register(collector{g}); err != nil {
		return nil, fmt.Errorf("gateway metrics: %w", err)
	}
	if g.calls != nil {
		if err := cfg.Metrics.Register(g.calls.attempts); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	return g, nil
}

// Handler returns the HTTP handler of the API.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Start opens the watches that feed the gateway's views and waits until
// they have replayed what the broker holds, so the first request already
// sees every job and algorithm. It returns an error if a watch cannot be
// opened or ctx ends first.
func (g *Gateway) Start(ctx context.Context) error {
	if g.calls != nil {
		if err := g.calls.Start(ctx); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	putJob := func(e jetstream.KeyValueEntry) {
		if !g.jobs.put(e.Value(), e.Revision(), e.Created()) {
			return
		}
		// A job turning final may pass on a mutex key and owe a callback;
		// later writes of it (a callback's attempts) change neither.
		g.seenJob(e.Value())
		if g.calls != nil {
			g.calls.note(e.Value())
		}
	}
	watches := []watch{
		{broker.JobsBucket, g.b.WatchJobs, putJob, g.jobs.remove},
		{broker.AlgorithmsBucket, g.b.WatchAlgorithms, func(e jetstream.KeyValueEntry) { g.reg.putAlgorithm(e.Value()) }, g.reg.removeAlgorithm},
		{broker.RunnersBucket, g.b.WatchRunners, func(e jetstream.KeyValueEntry) { g.reg.putRunner(e.Value()) }, g.reg.removeRunner},
	}
	for _, w := range watches {
		kw, err := w.open(wctx)
		if err != nil {
			g.Stop()
			return err
		}
		g.loaded.Add(1)
		g.wg.Add(1)
		go g.follow(wctx, w, kw)
	}
	// Jobs that only their queue message holds yet (see store).
	follower, followed, err := g.b.FollowQueue(wctx, func(m broker.QueuedMsg) {
		// Most are this gateway's own submits, indexed as they were made.
		if m.Data != nil && (m.ID == "" || !g.jobs.has(m.ID)) {
			g.jobs.putQueued(m.Data, m.Time, m.Seq)
		}
	})
	if err != nil {
		g.Stop()
		return err
	}
	g.queue = follower
	g.loaded.Add(1)
	g.wg.Add(3)
	go func() {
		defer g.wg.Done()
		select {
		case <-follower.CaughtUp:
		case <-wctx.Done():
		}
		g.loaded.Done()
		<-followed // stopped with the gateway
	}()
	go g.pruneLoop(wctx)
	go g.mutexLoop(wctx)
	done := make(chan struct{})
	go func() { g.loaded.Wait(); close(done) }()
	select {
	case <-done:
		close(g.ready)
		return nil
	case <-ctx.Done():
		g.Stop()
		return ctx.Err()
	}
}

// pruneLoop drops expired jobs from the index: the store expires records
// silently, so the index forgets what was last written before retention.
func (g *Gateway) pruneLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			g.jobs.prune(now.Add(-g.b.Config().Retention))
		}
	}
}

// AwaitRunner returns once the gateway knows the runner with id and every
// algorithm it serves (names), or ctx's error if ctx ends first.
func (g *Gateway) AwaitRunner(ctx context.Context, id string, names ...string) error {
	return g.reg.await(ctx, id, names)
}

// Stop closes the watches. Requests in flight that wait on a job return
// what they have. Safe to call more than once.
func (g *Gateway) Stop() {
	g.stopOnce.Do(func() {
		if g.calls != nil {
			g.calls.Stop()
		}
		if g.cancel != nil {
			g.cancel()
		}
		g.wg.Wait()
	})
}

// Ready reports whether the gateway and every extra check are ready.
func (g *Gateway) readiness(ctx context.Context) map[string]error {
	checks := map[string]error{}
	select {
	case <-g.ready:
		checks["gateway"] = nil
	default:
		checks["gateway"] = errors.New("loading the job index")
	}
	checks["broker"] = g.b.Ping(ctx)
	for name, f := range g.cfg.Ready {
		checks[name] = f(ctx)
	}
	return checks
}
