package gateway

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor"
)

// statsMinutes is how far back GET /v1/stats counts finished jobs, a
// minute at a time.
const statsMinutes = 60

// throughput counts the jobs of each algorithm that became final, per
// minute, over the last statsMinutes minutes: a ring of buckets, each
// tagged with the minute it counts so a stale bucket reads as zero. It is
// fed by the index under the index's lock.
type throughput map[string]*[statsMinutes]minuteCount

type minuteCount struct {
	minute int64 // Unix minute
	n      int
}

// add counts one job of algorithm finished at t; jobs finished more than
// statsMinutes ago, or in the future, are not counted.
func (tp throughput) add(algorithm string, t, now time.Time) {
	m, cur := t.Unix()/60, now.Unix()/60
	if m <= cur-statsMinutes || m > cur {
		return
	}
	ring := tp[algorithm]
	if ring == nil {
		ring = new([statsMinutes]minuteCount)
		tp[algorithm] = ring
	}
	b := &ring[m%statsMinutes]
	if b.minute != m {
		*b = minuteCount{minute: m}
	}
	b.n++
}

// series returns the counts of algorithm for each of the last statsMinutes
// minutes, oldest first, the current minute last.
func (tp throughput) series(algorithm string, now time.Time) []int {
	out := make([]int, statsMinutes)
	ring := tp[algorithm]
	if ring == nil {
		return out
	}
	cur := now.Unix() / 60
	for i := range out {
		m := cur - statsMinutes + 1 + int64(i)
		if b := ring[m%statsMinutes]; b.minute == m {
			out[i] = b.n
		}
	}
	return out
}

// AlgorithmStats is one algorithm's entry in GET /v1/stats.
type AlgorithmStats struct {
	Name string `json:"name"`
	// Counts holds how many retained jobs are in each status.
	Counts map[conveyor.Status]int `json:"counts"`
	// FinishedPerMinute counts the jobs that became final in each of the
	// last 60 minutes, oldest first, the current minute last.
	FinishedPerMinute []int `json:"finished_per_minute"`
}

// Stats is the body of GET /v1/stats.
type Stats struct {
	Algorithms []AlgorithmStats `json:"algorithms"`
}

// stats returns the counts and throughput of every algorithm with a job
// or a registration.
func (x *index) stats(registered []string, now time.Time) Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	names := map[string]bool{}
	for _, n := range registered {
		names[n] = true
	}
	for n := range x.counts {
		names[n] = true
	}
	st := Stats{Algorithms: []AlgorithmStats{}}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		counts := map[conveyor.Status]int{}
		for _, s := range conveyor.Statuses {
			counts[s] = x.counts[n][s]
		}
		st.Algorithms = append(st.Algorithms, AlgorithmStats{Name: n, Counts: counts, FinishedPerMinute: x.done.series(n, now)})
	}
	return st
}

// handleStats is GET /v1/stats: per algorithm, how many jobs are in each
// status and how many finished in each of the last 60 minutes — what the
// dashboard's overview draws.
func (g *Gateway) handleStats(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, k := range g.reg.algorithms() {
		names = append(names, k.Name)
	}
	writeJSON(w, http.StatusOK, g.jobs.stats(names, time.Now()))
}
