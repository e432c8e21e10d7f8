package runner

import (
	"sync"
	"time"
)

// keptIdle is how long a goroutine of a keeper waits for its next function
// before it ends.
const keptIdle = 10 * time.Second

// keeper runs functions on goroutines it keeps, once a function returns,
// for the next one. A job's path through the broker's client decodes the
// broker's answers deep down its stack: a goroutine started for each job
// grew its stack by copying it, every time — about 10 µs of CPU a job, a
// twentieth of the server's under load (a profile of bench/load's
// e2e-lean). A kept goroutine keeps the stack it grew until a garbage
// collection finds it idle and shrinks it.
type keeper struct {
	handoff chan func() // unbuffered: a send is taken only by an idle goroutine
	wg      *sync.WaitGroup
	quit    <-chan struct{}
}

func newKeeper(wg *sync.WaitGroup, quit <-chan struct{}) *keeper {
	return &keeper{handoff: make(chan func()), wg: wg, quit: quit}
}

// Go runs fn on an idle kept goroutine, or on a new one. The goroutine
// counts in the keeper's WaitGroup until it ends: keptIdle after its last
// function returned, or once quit is closed.
func (k *keeper) Go(fn func()) {
	select {
	case k.handoff <- fn:
		return
	default:
	}
	k.wg.Add(1)
	go k.loop(fn)
}

func (k *keeper) loop(fn func()) {
	defer k.wg.Done()
	idle := time.NewTimer(keptIdle)
	defer idle.Stop()
	for {
		fn()
		idle.Reset(keptIdle)
		select {
		case fn = <-k.handoff:
		case <-idle.C:
			return
		case <-k.quit:
			return
		}
	}
}
