package services

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor/broker"
)

// FilesConfig configures a Files service.
type FilesConfig struct {
	// Broker holds the files. Required.
	Broker *broker.Broker
	// SweepEvery is how often files past their keep time are removed.
	// Default: DefaultFileSweep, or the broker's retention when shorter.
	SweepEvery time.Duration
	// Logger receives the failures and what was removed. Default:
	// discarded.
	Logger *slog.Logger
}

// DefaultFileSweep is how often, by default, expired files are removed: a
// file is kept until its keep time (see broker.KeepFile) and refused from
// then on; its bytes go at the next sweep.
const DefaultFileSweep = 10 * time.Minute

// Files removes the files — uploads and artifacts — whose keep time has
// passed: the retention after they were stored, or after the last job
// that references them was accepted or ran (broker.KeepFile). The object
// store does not expire them by age, so that a file outlives no job that
// references it and no such job outlives its files. It sweeps as it starts
// and every SweepEvery; several processes may sweep at once.
type Files struct {
	cfg  FilesConfig
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// NewFiles returns a Files service, not started.
func NewFiles(cfg FilesConfig) *Files {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = min(DefaultFileSweep, cfg.Broker.Config().Retention)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Files{cfg: cfg}
}

// Start starts sweeping, until Stop.
func (f *Files) Start(ctx context.Context) {
	ctx, f.stop = context.WithCancel(context.WithoutCancel(ctx))
	f.wg.Add(1)
	go f.loop(ctx)
}

// Stop stops the service and waits for it.
func (f *Files) Stop() {
	if f.stop != nil {
		f.stop()
	}
	f.wg.Wait()
}

func (f *Files) loop(ctx context.Context) {
	defer f.wg.Done()
	t := time.NewTicker(f.cfg.SweepEvery)
	defer t.Stop()
	for {
		n, err := f.cfg.Broker.SweepFiles(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			f.cfg.Logger.Warn("remove expired files", "err", err, "removed", n, "retry_in", f.cfg.SweepEvery)
		case n > 0:
			f.cfg.Logger.Info("removed expired files", "files", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
