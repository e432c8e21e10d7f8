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

	"github.com/conveyor-run/conveyor"
)

// Devices are the GPUs of a runner, handed to worker processes a few at a
// time: a process that needs k holds k of them, by index, for its life,
// so no two processes share one (see workerkind, CUDA_VISIBLE_DEVICES).
type Devices struct {
	mu   sync.Mutex
	n    int
	free []int // in order, lowest first
	// jobs counts the jobs running on each device's process (Busy).
	jobs []int
	// freed is closed and replaced each time devices are given back, for
	// whoever waits for some.
	freed chan struct{}
}

// NewDevices returns n devices, numbered 0 … n-1, all free.
func NewDevices(n int) *Devices {
	d := &Devices{n: n, freed: make(chan struct{}), jobs: make([]int, n)}
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

// Busy counts d more (or, negative, fewer) jobs running on the process
// that holds ids: the load of each device, as GET /v1/runners and the
// metrics show it.
func (d *Devices) Busy(ids []int, k int) {
	if d == nil || len(ids) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if id >= 0 && id < len(d.jobs) {
			d.jobs[id] += k
		}
	}
}

// Load returns, for each device, whether a process holds it and how many
// jobs run on that process now.
func (d *Devices) Load() []conveyor.DeviceLoad {
	if d.Count() == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]conveyor.DeviceLoad, d.n)
	for i := range out {
		out[i] = conveyor.DeviceLoad{GPU: i, Held: !slices.Contains(d.free, i), Jobs: d.jobs[i]}
	}
	return out
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
