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
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/backoff"
	"github.com/conveyor-run/conveyor/jobindex"
	"github.com/conveyor-run/conveyor/metrics"
	"github.com/conveyor-run/conveyor/services"
)

// Config configures a Gateway. Only Broker is required.
type Config struct {
	Broker *broker.Broker
	// MaxBody caps a request body in bytes. Default DefaultMaxBody.
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
	Callbacks services.CallbackConfig
	// Deliverer delivers the callbacks of the jobs the gateway sees end.
	// Default, with allowed hosts: a service of the gateway's own, run
	// while it is (its metrics in Metrics).
	Deliverer *services.Callbacks
	// ArchiveAfter is how long a finished job stays in the job store
	// before the gateway moves it to the history (see archive.go); < 0
	// never. Default 5s.
	ArchiveAfter time.Duration
	// IndexDir is where the gateway keeps its job index (package
	// jobindex), which it resumes from at start. Each gateway needs its
	// own. Empty: a temporary index, rebuilt from the store at each start
	// and removed at Stop.
	IndexDir string
	// Schedules are the recurring schedules of the configuration (source
	// "config"), made so in the broker at Start.
	Schedules []conveyor.Schedule
	// Quotas bound what each tenant named keeps (see Quota): a submit past
	// one is a 429.
	Quotas map[string]Quota
	// Mutexes passes mutex keys on; the gateway tells it of the jobs it
	// sees end (a cancel). Default: a service of the gateway's own, run
	// while it is.
	Mutexes *services.Mutexes
	// MaxFileSize caps an uploaded file (POST /v1/files) in bytes; MaxBody
	// does not apply to uploads. Default 5 GiB.
	MaxFileSize int64
	// Storage, when set, says whether there is room on disk for new jobs:
	// its error (ESTORAGE, 507) refuses them before anything is written.
	Storage func(context.Context) error
}

// Gateway is the HTTP API. Start it, serve Handler, Stop it.
type Gateway struct {
	cfg     Config
	b       *broker.Broker
	log     *slog.Logger
	jobs    *index          // the live jobs, in memory
	disk    *jobindex.Index // every retained job, on disk
	tmpDir  string          // of a temporary disk index
	indexed atomic.Uint64   // changes the feeds gave the disk index
	archive *archiver
	deleted deletions // jobs deleted lately (see delete.go)
	reg     *registry
	handler http.Handler // mux, instrumented
	// callbacks delivers completion callbacks (Config.Deliverer, or the gateway's own:
	// ownCallbacks); nil without callbacks.
	callbacks    *services.Callbacks
	ownCallbacks bool
	streams      streams

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	loaded   sync.WaitGroup // the job store's watch and the queue caught up
	known    sync.WaitGroup // the registry's watches caught up
	ready    chan struct{}
	stopOnce sync.Once
	httpObs  sync.Map // httpKey → prometheus.Observer, see httpSeries
	// mutexes passes on the mutex keys of the jobs seen final: the
	// configured service, or the gateway's own (ownMutexes).
	mutexes    *services.Mutexes
	ownMutexes bool
	queue      *broker.Follower
	dueSlots   chan struct{} // see due
	// origin names this gateway (for its life) on the queue messages of
	// its submits: the queue follower skips them, indexed already.
	origin string
	quota  quotas
	undone undos // see undoLoop
}

// loopBackoff spaces the tries of the gateway's background loops while the
// broker fails them — archiving, queueing and pulling callbacks: 100 ms
// doubling up to 5 s, jittered.
var loopBackoff = backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// New returns a gateway over cfg.Broker, ready to Start.
func New(cfg Config) (*Gateway, error) {
	if cfg.Broker == nil {
		return nil, errors.New("gateway: no broker")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxFileSize == 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.ArchiveAfter == 0 {
		cfg.ArchiveAfter = DefaultArchiveAfter
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
		reg:      newRegistry(3*cfg.Broker.Config().Heartbeat, cfg.Logger),
		ready:    make(chan struct{}),
		dueSlots: make(chan struct{}, maxDue),
		origin:   ulid.Make().String(),
		quota:    quotas{retained: map[string]retainedCount{}},
	}
	g.jobs = newIndex(func(id string) bool { return g.disk != nil && g.disk.Final(context.Background(), id) })
	g.archive = &archiver{g: g, todo: map[string]toArchive{}, recent: map[string]*archived{}, wake: make(chan struct{}, 1)}
	g.streams = streams{max: cfg.MaxStreams, open: map[string]int{}}
	g.callbacks = cfg.Deliverer
	if g.callbacks == nil && len(cfg.Callbacks.AllowHosts) > 0 {
		g.callbacks = services.NewCallbacks(cfg.Callbacks, cfg.Broker, cfg.Logger)
		g.ownCallbacks = true
	}
	g.mutexes = cfg.Mutexes
	if g.mutexes == nil {
		g.mutexes = services.NewMutexes(services.MutexesConfig{Broker: cfg.Broker, Status: g.LiveStatus, Logger: cfg.Logger})
		g.ownMutexes = true
	}
	g.routes()
	if err := cfg.Metrics.Register(collector{g}); err != nil {
		return nil, fmt.Errorf("gateway metrics: %w", err)
	}
	if g.ownCallbacks {
		if err := cfg.Metrics.Register(g.callbacks.Collector()); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	return g, nil
}

// Handler returns the HTTP handler of the API.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Start opens the job index, then the watches that feed the gateway's
// views, resuming from the last change the index applied, and waits until
// they have caught up with what the broker holds, so that the first
// request already sees every job and algorithm. An index that was lost is
// rebuilt from the store in the background instead: the gateway serves
// meanwhile (single jobs are read from the store), and /readyz says it is
// not ready until the index has caught up. Start returns an error if the
// index cannot be opened, a watch cannot be opened, or ctx ends first.
func (g *Gateway) Start(ctx context.Context) error {
	if err := g.openIndex(ctx); err != nil {
		g.Stop()
		return err
	}
	if g.ownCallbacks {
		if err := g.callbacks.Start(ctx); err != nil {
			g.Stop()
			return err
		}
	}
	wctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	cur := g.disk.Cursor()
	rebuilding := g.cfg.IndexDir != "" && cur.Store == 0 && cur.Queue == 0
	if rebuilding {
		g.log.Info("building the job index from the store", "path", g.disk.Path())
	}
	// The live jobs the index holds, before any change is applied.
	if err := g.disk.Live(ctx, func(s *conveyor.JobSummary, seq uint64, updated time.Time) error {
		g.jobs.putLive(s, seq, updated)
		return nil
	}); err != nil {
		g.Stop()
		return err
	}
	putJob := func(e broker.Entry) {
		s, ok := summarize(e.Value)
		if !ok || g.deleted.has(s.ID) {
			g.disk.Advance(e.Revision, 0, 0)
			return
		}
		g.indexed.Add(1)
		turnedFinal, prev, wake := g.jobs.putThen(s, e.Value, e.Revision, e.Created, 0)
		g.disk.Put(jobindex.Change{ID: s.ID, Record: e.Value, Status: s.Status, Prev: prev, Updated: e.Created, StoreRev: e.Revision})
		// Only now: a request woken (submit ?wait=) that lists the jobs
		// next must find the change in the job index.
		wake()
		if s.Status.Terminal() {
			g.archive.note(s.ID, e.Value, e.Revision)
		}
		if !turnedFinal {
			return
		}
		// A job turning final may pass on a mutex key and owe a callback;
		// later writes of it (a callback's attempts) change neither.
		g.seenJob(e.Value, prev)
		if g.callbacks != nil {
			g.callbacks.Note(e.Value)
		}
	}
	delJob := func(e broker.Entry) {
		if g.archive.expected(e.Key) || !g.jobs.has(e.Key) && g.disk.Final(wctx, e.Key) {
			// A finished job left the store for the history: archived.
			g.disk.Advance(e.Revision, 0, 0)
			return
		}
		g.indexed.Add(1)
		g.jobs.remove(e.Key)
		g.disk.Put(jobindex.Change{ID: e.Key, StoreRev: e.Revision})
	}
	watches := []struct {
		bucket string
		put    func(broker.Entry)
		del    func(broker.Entry)
		from   uint64 // the last revision the view applied already
		loaded *sync.WaitGroup
	}{
		{broker.JobsBucket, putJob, delJob, cur.Store, &g.loaded},
		{broker.AlgorithmsBucket, func(e broker.Entry) { g.reg.putAlgorithm(e.Value) }, func(e broker.Entry) { g.reg.removeAlgorithm(e.Key) }, 0, &g.known},
		{broker.RunnersBucket, func(e broker.Entry) { g.reg.putRunner(e.Value) }, func(e broker.Entry) { g.reg.removeRunner(e.Key) }, 0, &g.known},
	}
	for _, w := range watches {
		w.loaded.Add(1)
		done, err := g.b.Watch(wctx, w.bucket, broker.WatchConfig{From: w.from, CaughtUp: w.loaded.Done}, func(e broker.Entry) {
			if e.Removed {
				w.del(e)
			} else {
				w.put(e)
			}
		})
		if err != nil {
			w.loaded.Done()
			g.Stop()
			return err
		}
		g.wg.Add(1)
		go func() { defer g.wg.Done(); <-done }()
	}
	// Jobs that only their queue message holds yet (see broker.Unstored).
	follower, followed, err := g.b.FollowQueue(wctx, cur.Queue, func(m broker.QueuedMsg) {
		// Most are this gateway's own submits, indexed as they were made;
		// and the job of an old message may be final by now.
		// A deleted job's message stays until retention: no news either.
		if m.Due {
			g.due(wctx, m.ID)
			g.disk.Advance(0, m.Seq, 0)
			return
		}
		if m.Origin == g.origin {
			g.disk.Advance(0, m.Seq, 0) // this gateway's own submit, indexed as it was made
			return
		}
		if m.Data == nil && m.ID != "" {
			g.jobs.hear(m.ID)
		}
		if m.Data == nil || (m.ID != "" && (g.jobs.has(m.ID) || g.archive.holds(m.ID) || g.disk.Has(wctx, m.ID) || g.deleted.has(m.ID))) {
			g.disk.Advance(0, m.Seq, 0)
			return
		}
		s, ok := summarize(m.Data)
		if !ok {
			g.disk.Advance(0, m.Seq, 0)
			return
		}
		g.indexed.Add(1)
		g.jobs.putFrom(s, m.Data, 0, m.Time, m.Seq)
		g.disk.Put(jobindex.Change{ID: s.ID, Record: m.Data, Status: s.Status, Updated: m.Time, Seq: m.Seq, First: true, QueueSeq: m.Seq})
	})
	if err != nil {
		g.Stop()
		return err
	}
	g.queue = follower
	historyCaughtUp, historyDone, err := g.followHistory(wctx, cur.History)
	if err != nil {
		g.Stop()
		return err
	}
	g.loaded.Add(2)
	g.wg.Add(7)
	for _, f := range []struct{ caughtUp, done <-chan struct{} }{{follower.CaughtUp, followed}, {historyCaughtUp, historyDone}} {
		go func() {
			defer g.wg.Done()
			select {
			case <-f.caughtUp:
			case <-wctx.Done():
			}
			g.loaded.Done()
			<-f.done // stopped with the gateway
		}()
	}
	if g.ownMutexes {
		g.mutexes.Start(wctx)
	}
	go g.archive.loop(wctx)
	go g.pruneLoop(wctx)
	go g.undoLoop(wctx)
	go g.sweepLoop(wctx)
	loaded := make(chan struct{})
	go func() {
		defer g.wg.Done()
		g.loaded.Wait()
		if wctx.Err() != nil {
			return
		}
		close(loaded)
		if err := g.disk.Sync(wctx); err != nil && wctx.Err() == nil {
			g.log.Error("job index: commit", "err", err)
		}
		if rebuilding {
			g.log.Info("job index built", "path", g.disk.Path())
		}
		g.owedCallbacks(wctx)
		close(g.ready)
		g.archive.sweep(wctx)
	}()
	known := make(chan struct{})
	go func() { g.known.Wait(); close(known) }()
	wait := []chan struct{}{known, loaded}
	if rebuilding {
		wait = wait[:1] // the jobs catch up in the background
	}
	for _, c := range wait {
		if c == nil {
			continue
		}
		select {
		case <-c:
		case <-ctx.Done():
			g.Stop()
			return ctx.Err()
		}
	}
	// Recurring schedules: the configuration's made so, then firings
	// served, once the registry is known (a firing's job is checked
	// against its algorithm as a submit is).
	if err := g.reconcileSchedules(ctx); err != nil {
		g.Stop()
		return fmt.Errorf("schedules: %w", err)
	}
	firings, err := g.b.ServeFirings(wctx, g.serveFiring)
	if err != nil {
		g.Stop()
		return err
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		<-firings
	}()
	return nil
}

// openIndex opens the gateway's job index, made anew when it follows
// other streams than the broker's.
func (g *Gateway) openIndex(ctx context.Context) error {
	dir := g.cfg.IndexDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "conveyor-index-")
		if err != nil {
			return fmt.Errorf("job index: %w", err)
		}
		g.tmpDir, dir = tmp, tmp
	}
	x, err := jobindex.Open(dir, jobindex.Options{Logger: g.log})
	if err != nil {
		return err
	}
	g.disk = x
	origin, err := g.b.Origin(ctx)
	if err != nil {
		return err
	}
	if cur := x.Cursor(); cur.Origin != origin {
		if cur.Origin != "" {
			g.log.Warn("the job index follows other streams than the broker has: rebuilding it", "path", x.Path(), "index_origin", cur.Origin, "broker_origin", origin)
		}
		return x.Reset(ctx, origin)
	}
	return nil
}

// owedCallbacks notes the final jobs whose callback the index says is not
// delivered yet — of which a gateway stopped before it queued them — so
// that they are delivered.
func (g *Gateway) owedCallbacks(ctx context.Context) {
	if g.callbacks == nil {
		return
	}
	ids, err := g.disk.Owed(ctx)
	if err != nil {
		g.log.Warn("read the callbacks owed", "err", err)
		return
	}
	for _, id := range ids {
		if data, _, err := g.b.GetJobRecord(ctx, id); err == nil {
			g.callbacks.Note(data)
		}
	}
}

// pruneLoop drops expired jobs from the index: the store expires records
// silently, so the index forgets what was last written before retention.
func (g *Gateway) pruneLoop(ctx context.Context) {
	defer g.wg.Done()
	// Often enough that an expired job leaves the counts soon after it
	// left the store (lists leave it out at once).
	t := time.NewTicker(min(time.Minute, max(g.b.Config().Retention/4, 100*time.Millisecond)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cutoff := now.Add(-g.b.Config().Retention)
			g.jobs.prune(cutoff)
			if n, err := g.disk.Expire(ctx, cutoff); err != nil {
				g.log.Warn("expire jobs from the job index", "err", err)
			} else if n > 0 {
				g.log.Debug("expired jobs from the job index", "jobs", n)
			}
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
		if g.ownCallbacks {
			g.callbacks.Stop()
		}
		if g.cancel != nil {
			g.cancel()
		}
		g.wg.Wait()
		if g.ownMutexes {
			g.mutexes.Stop()
		}
		if g.disk != nil {
			if err := g.disk.Close(); err != nil {
				g.log.Warn("job index: close", "err", err)
			}
		}
		if g.tmpDir != "" {
			os.RemoveAll(g.tmpDir)
		}
	})
}

// Ready reports whether the gateway and every extra check are ready.
func (g *Gateway) readiness(ctx context.Context) map[string]error {
	checks := map[string]error{}
	select {
	case <-g.ready:
		checks["gateway"] = nil
	default:
		checks["gateway"] = errors.New("catching up with the job store (building the job index)")
	}
	checks["broker"] = g.b.Ping(ctx)
	for name, f := range g.cfg.Ready {
		checks[name] = f(ctx)
	}
	return checks
}
