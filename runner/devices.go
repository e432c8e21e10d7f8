package runner

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// Devices are the GPUs of a runner, handed to worker processes a few at a
// time: a process that needs k holds k of them, by index, for its life,
// so no two processes share one (see workerkind, CUDA_VISIBLE_DEVICES).
type Devices struct {
	mu   sync.Mutex
	n    int
	free []int // in order, lowest first
	// freed is closed and replaced each time devices are given back, for
	// whoever waits for some.
	freed chan struct{}
}

// NewDevices returns n devices, numbered 0 … n-1, all free.
func NewDevices(n int) *Devices {
	d := &Devices{n: n, freed: make(chan struct{})}
	for i := range n {
		d.free = append(d.free, i)
	}
	return d
}

// Count returns how many devices there are.
func (d *Devices) Count() int {
	if d == nil {
		return 0
	}
	return d.n
}

// Take takes k free devices, lowest first, and returns them; with fewer
// than k free it takes none and returns nil, and a channel closed when
// some are given back.
func (d *Devices) Take(k int) ([]int, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.free) < k {
		return nil, d.freed
	}
	got := slices.Clone(d.free[:k])
	d.free = d.free[k:]
	return got, nil
}

// Give gives back devices taken.
func (d *Devices) Give(ids []int) {
	if len(ids) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free = append(d.free, ids...)
	slices.Sort(d.free)
	close(d.freed)
	d.freed = make(chan struct{})
}

// DetectGPUs counts the GPUs nvidia-smi lists (nvidia-smi -L: a line
// "GPU n: …" each); 0 where there is no nvidia-smi or it fails.
func DetectGPUs() int {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-L").Output()
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "GPU ") {
			n++
		}
	}
	return n
}

type devicesKey struct{}

// WithDevices returns ctx carrying d, as the runner gives its kinds'
// Provision the runner's GPUs (for the tests of a kind).
func WithDevices(ctx context.Context, d *Devices) context.Context {
	return context.WithValue(ctx, devicesKey{}, d)
}

// DevicesOf returns the runner's GPUs, as Provision's ctx carries them
// (nil: none).
func DevicesOf(ctx context.Context) *Devices {
	d, _ := ctx.Value(devicesKey{}).(*Devices)
	return d
}
