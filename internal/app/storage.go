package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
)

// storageEvery is how often the free space of the data dir is measured
// again; the checks in between reuse the last measure.
const storageEvery = time.Second

// storage reports trouble with the disk of a data dir: less free than
// minFree (the files of the embedded broker and the gateway's job index
// live there). Out of space, JetStream and the index fail their writes:
// before that, readiness says so and submits are refused with 507, so
// that nothing is half stored.
type storage struct {
	dir     string
	minFree uint64
	free    func(dir string) (uint64, error)

	mu  sync.Mutex
	at  time.Time
	err error
}

// check returns an ESTORAGE error while the data dir has less than
// minFree free, nil otherwise (and when its space cannot be told).
func (s *storage) check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.at) < storageEvery {
		return s.err
	}
	s.at, s.err = time.Now(), nil
	free, err := s.free(s.dir)
	if err == nil && free < s.minFree {
		s.err = conveyor.Errorf(conveyor.ESTORAGE, "the data dir's disk has %s free, less than broker.min_free (%s): new jobs are refused until there is room",
			mib(free), mib(s.minFree))
	}
	return s.err
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
