package gateway

import (
	"maps"
	"net/http"
	"slices"
	"strings"
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
	// StageCounts counts, for an algorithm that runs as a stage of
	// pipelines, the stages it ran that ended in the last 60 minutes, by
	// how they ended (moved on: succeeded); its jobs of pipelines are
	// counted under the pipeline. StageFinishedPerMinute is them a minute
	// at a time, as FinishedPerMinute. Both are left out when it ran no
	// stage; a tenant's token sees neither.
	StageCounts            map[conveyor.Status]int `json:"stage_counts,omitempty"`
	StageFinishedPerMinute []int                   `json:"stage_finished_per_minute,omitempty"`
}

// Stats is the body of GET /v1/stats.
type Stats struct {
	Algorithms []AlgorithmStats `json:"algorithms"`
}

// statsParams are the query parameters GET /v1/stats takes, as
// /openapi.json documents them; any other is a 400.
var statsParams = []obj{
	param("since", "query", "count the jobs created since this RFC 3339 time, or this long ago (1h, 24h); default: every job the index holds", obj{"type": "string"}, false),
}

// handleStats is GET /v1/stats: per algorithm, how many jobs are in each
// status and how many finished in each of the last 60 minutes — what the
// dashboard's overview draws. The counts are of every retained job, from
// the job index, or of the jobs created since ?since= (an RFC 3339 time,
// or a duration back from now: 1h, 24h); a tenant's token counts only its
// tenant's jobs (and sees no throughput of others).
func (g *Gateway) handleStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains(paramNames(statsParams), name) {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "unknown query parameter %q (GET /v1/stats takes %s)", name, strings.Join(paramNames(statsParams), ", ")))
			return
		}
	}
	now := time.Now()
	var since time.Time
	if s := q.Get("since"); s != "" {
		var err error
		if since, err = conveyor.ParseSince(s, now); err != nil {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "query parameter since: %v", err))
			return
		}
	}
	tenant, all := tenantOf(r.Context())
	if err := g.disk.Sync(r.Context()); err != nil {
		g.writeError(w, r, indexUnavailable(err))
		return
	}
	counts, err := g.disk.Counts(r.Context(), tenant, all, since)
	if err != nil {
		g.writeError(w, r, indexUnavailable(err))
		return
	}
	names := map[string]bool{}
	for _, k := range g.reg.algorithms() {
		names[k.Name] = true
	}
	for n := range counts {
		names[n] = true
	}
	st := Stats{Algorithms: []AlgorithmStats{}}
	g.jobs.mu.RLock()
	defer g.jobs.mu.RUnlock()
	for _, n := range slices.Sorted(maps.Keys(names)) {
		c := map[conveyor.Status]int{}
		for _, s := range conveyor.Statuses {
			c[s] = counts[n][s]
		}
		a := AlgorithmStats{Name: n, Counts: c, FinishedPerMinute: make([]int, statsMinutes)}
		if all {
			a.FinishedPerMinute = g.jobs.done.series(n, now)
			a.StageCounts, a.StageFinishedPerMinute = g.jobs.stageSeries(n, now)
		}
		st.Algorithms = append(st.Algorithms, a)
	}
	writeJSON(w, http.StatusOK, st)
}

// stageSeries sums the stages of algorithm that ended in the last
// statsMinutes minutes: by status, and a minute at a time. Both are nil
// when none did. Called with x.mu held.
func (x *index) stageSeries(algorithm string, now time.Time) (counts map[conveyor.Status]int, perMinute []int) {
	for status, tp := range x.stagesDone {
		if tp[algorithm] == nil {
			continue
		}
		n := 0
		for i, v := range tp.series(algorithm, now) {
			if perMinute == nil {
				perMinute = make([]int, statsMinutes)
			}
			perMinute[i] += v
			n += v
		}
		if n > 0 {
			if counts == nil {
				counts = map[conveyor.Status]int{}
			}
			counts[status] = n
		}
	}
	if counts == nil {
		return nil, nil
	}
	return counts, perMinute
}
