package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor"
)

// handleAlgorithms is GET /v1/algorithms.
func (g *Gateway) handleAlgorithms(w http.ResponseWriter, r *http.Request) {
	runners := g.reg.live(time.Now())
	list := conveyor.AlgorithmList{Algorithms: []conveyor.AlgorithmInfo{}}
	for _, k := range g.reg.algorithms() {
		info := g.info(r.Context(), k, runners)
		info.Unmet = g.unmet(r.Context(), k, runners)
		list.Algorithms = append(list.Algorithms, info)
	}
	writeJSON(w, http.StatusOK, list)
}

// handleAlgorithm is GET /v1/algorithms/{name}.
func (g *Gateway) handleAlgorithm(w http.ResponseWriter, r *http.Request) {
	k, err := g.reg.algorithm(r.PathValue("name"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	runners := g.reg.live(time.Now())
	info := g.info(r.Context(), k, runners)
	info.Unmet = g.unmet(r.Context(), k, runners)
	writeJSON(w, http.StatusOK, info)
}

// unmet lists the requirement sets of k's queued jobs that no live runner
// serving k meets, for a token of no tenant (nil for others).
func (g *Gateway) unmet(ctx context.Context, k *known, runners []conveyor.RunnerInfo) []conveyor.Unmet {
	if _, all := tenantOf(ctx); !all {
		return nil
	}
	queued := g.jobs.routedQueued(k.Name)
	if len(queued) == 0 {
		return nil
	}
	serving := 0
	for _, r := range runners {
		if slices.Contains(r.Algorithms, k.Name) {
			serving++
		}
	}
	var out []conveyor.Unmet
	for _, set := range slices.Sorted(maps.Keys(queued)) {
		req, err := conveyor.ParseRequirements(set)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(runners, func(r conveyor.RunnerInfo) bool {
			return slices.Contains(r.Algorithms, k.Name) && req.MetBy(r.Labels)
		}) {
			continue
		}
		reason := fmt.Sprintf("no live runner of %s has labels %s", k.Name, set)
		if serving == 0 {
			reason = "no live runner serves " + k.Name
		}
		out = append(out, conveyor.Unmet{Requires: req, Queued: queued[set], Reason: reason})
	}
	return out
}

// info is what the gateway knows of algorithm k now; the counts of a
// tenant's token are of its tenant's jobs alone.
func (g *Gateway) info(ctx context.Context, k *known, runners []conveyor.RunnerInfo) conveyor.AlgorithmInfo {
	info := conveyor.AlgorithmInfo{
		Algorithm: k.Algorithm,
		Runners:   []string{},
	}
	if tenant, all := tenantOf(ctx); all {
		info.Queued, info.Running = g.jobs.countOf(k.Name, conveyor.StatusQueued), g.jobs.countOf(k.Name, conveyor.StatusRunning)
	} else {
		info.Queued, info.Running = g.jobs.countOfTenant(k.Name, conveyor.StatusQueued, tenant), g.jobs.countOfTenant(k.Name, conveyor.StatusRunning, tenant)
	}
	if len(info.InputSchema) == 0 {
		info.InputSchema = conveyor.AnyObjectSchema
	}
	serves := []string{k.Name}
	if k.Pipeline != nil {
		serves = k.Pipeline.Stages
	}
	for _, r := range runners {
		if slices.ContainsFunc(r.Algorithms, func(a string) bool { return slices.Contains(serves, a) }) {
			info.Runners = append(info.Runners, r.ID)
		}
		if k.Pipeline == nil {
			info.Workers += r.Workers[k.Name]
		}
	}
	info.Conflicts = g.reg.conflicts(k, runners)
	return info
}

// handleRunners is GET /v1/runners.
func (g *Gateway) handleRunners(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, conveyor.RunnerList{Runners: g.reg.live(time.Now())})
}

// handleHealth is GET /healthz: the process is up and serving HTTP. It
// touches nothing else, so it stays fast whatever the load.
func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, conveyor.Health{Status: "ok", Version: conveyor.Version})
}

// handleReady is GET /readyz: 200 once the broker answers, the views are
// loaded and every extra check passes; 503 with the failing checks
// otherwise.
func (g *Gateway) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h := conveyor.Health{Status: "ok", Version: conveyor.Version, Checks: map[string]string{}}
	status := http.StatusOK
	for name, err := range g.readiness(ctx) {
		if err != nil {
			h.Checks[name] = err.Error()
			h.Status, status = "unavailable", http.StatusServiceUnavailable
		} else {
			h.Checks[name] = "ok"
		}
	}
	writeJSON(w, status, h)
}
