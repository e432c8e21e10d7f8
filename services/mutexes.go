package services

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// MutexesConfig configures a Mutexes service.
type MutexesConfig struct {
	// Broker is where the mutex lines and the jobs are. Required.
	Broker *broker.Broker
	// SweepEvery is how often the lines are swept (see
	// broker.SweepMutexes). Default: the broker's heartbeat.
	SweepEvery time.Duration
	// Status, when set, tells a live job's status as a read model knows it
	// (a gateway's live view), which spares the sweep reads of records.
	Status func(id string) (conveyor.Status, bool)
	// Logger receives the failures. Default: discarded.
	Logger *slog.Logger
}

// Mutexes passes mutex keys on: whoever sees a job that held a key end
// (the runner that ran it, a gateway that canceled it) tells Released,
// and the service hands the key to the next job in line; a sweep every
// SweepEvery repairs what a crash in the middle of a hand-over left. See
// broker/mutex.go.
type Mutexes struct {
	cfg      MutexesConfig
	released chan ended
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// ended is a final job that held, or waited for, a mutex key.
type ended struct{ tenant, key, id string }

// releasedBacklog bounds the hand-overs waiting; past it they are left to
// the next sweep.
const releasedBacklog = 4096

// NewMutexes returns a Mutexes service, not started.
func NewMutexes(cfg MutexesConfig) *Mutexes {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = cfg.Broker.Config().Heartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mutexes{cfg: cfg, released: make(chan ended, releasedBacklog)}
}

// Start starts passing keys on and sweeping, until Stop.
func (m *Mutexes) Start(ctx context.Context) {
	ctx, m.stop = context.WithCancel(context.WithoutCancel(ctx))
	m.wg.Add(1)
	go m.loop(ctx)
}

// Stop stops the service and waits for it.
func (m *Mutexes) Stop() {
	if m.stop != nil {
		m.stop()
	}
	m.wg.Wait()
}

// Released tells the service that job id, with mutex key key of tenant,
// is final: the key passes on to the next job in its line, if the job
// held it. It never blocks; with too many waiting, the sweep passes the
// key on.
func (m *Mutexes) Released(tenant, key, id string) {
	if key == "" {
		return
	}
	select {
	case m.released <- ended{tenant, key, id}:
	default:
	}
}

func (m *Mutexes) loop(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-m.released:
			if err := m.cfg.Broker.ReleaseMutex(ctx, e.tenant, e.key, e.id); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("pass a mutex key on", "job_id", e.id, "mutex", e.key, "err", err)
			}
		case <-t.C:
			if err := m.cfg.Broker.SweepMutexes(ctx, m.cfg.Status); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("sweep mutex keys", "err", err)
			}
		}
	}
}
