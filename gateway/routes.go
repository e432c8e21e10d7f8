package gateway

import (
	"net/http"

	"github.com/conveyor-run/conveyor/dashboard"
)

// routes maps every endpoint of API v1 to its handler and the scope a
// token needs for it.
func (g *Gateway) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/jobs", g.need(scopeSubmit, g.handleSubmit))
	m.HandleFunc("POST /v1/jobs/batch", g.need(scopeSubmit, g.handleSubmitBatch))
	m.HandleFunc("GET /v1/jobs", g.need(scopeRead, g.handleList))
	m.HandleFunc("GET /v1/jobs/{id}", g.need(scopeRead, g.handleGet))
	m.HandleFunc("GET /v1/jobs/{id}/logs", g.need(scopeRead, g.handleLogs))
	m.HandleFunc("GET /v1/jobs/{id}/events", g.need(scopeRead, g.limitStreams(g.handleEvents)))
	m.HandleFunc("GET /v1/events", g.need(scopeRead, g.limitStreams(g.handleAllEvents)))
	m.HandleFunc("POST /v1/jobs/{id}/cancel", g.need(scopeCancel, g.handleCancel))
	m.HandleFunc("POST /v1/jobs/{id}/retry", g.need(scopeSubmit, g.handleRetry))
	m.HandleFunc("DELETE /v1/jobs/{id}", g.need(scopeCancel, g.handleDelete))
	m.HandleFunc("POST /v1/jobs/retry", g.need(scopeSubmit, g.handleRetryMatching))
	m.HandleFunc("POST /v1/jobs/cancel", g.need(scopeCancel, g.handleCancelMatching))
	m.HandleFunc("POST /v1/algorithms/{name}/jobs", g.need(scopeSubmit, g.handleSubmitInput))
	m.HandleFunc("POST /v1/algorithms/{name}/run", g.need(scopeSubmit, g.handleCall))
	m.HandleFunc("GET /v1/algorithms/{name}/run", g.need(scopeSubmit, g.handleCall))
	m.HandleFunc("GET /v1/algorithms", g.need(scopeRead, g.handleAlgorithms))
	m.HandleFunc("GET /v1/algorithms/{name}", g.need(scopeRead, g.handleAlgorithm))
	m.HandleFunc("GET /v1/runners", g.need(scopeRead, g.handleRunners))
	m.HandleFunc("GET /v1/stats", g.need(scopeRead, g.handleStats))
	m.HandleFunc("POST /v1/schedules", g.need(scopeSubmit, g.handleCreateSchedule))
	m.HandleFunc("GET /v1/schedules", g.need(scopeRead, g.handleSchedules))
	m.HandleFunc("GET /v1/schedules/{name}", g.need(scopeRead, g.handleSchedule))
	m.HandleFunc("DELETE /v1/schedules/{name}", g.need(scopeSubmit, g.handleDeleteSchedule))
	m.HandleFunc("POST /v1/schedules/{name}/pause", g.need(scopeSubmit, g.handlePauseSchedule(true)))
	m.HandleFunc("POST /v1/schedules/{name}/resume", g.need(scopeSubmit, g.handlePauseSchedule(false)))
	m.HandleFunc("POST /v1/schedules/{name}/trigger", g.need(scopeSubmit, g.handleTriggerSchedule))
	m.HandleFunc("GET /v1/whoami", g.need(scopeToken, g.handleWhoami))
	m.HandleFunc("GET /healthz", g.need(scopeNone, g.handleHealth))
	m.HandleFunc("GET /readyz", g.need(scopeNone, g.handleReady))
	m.HandleFunc("GET /metrics", g.need(scopeMetrics, g.cfg.Metrics.Handler().ServeHTTP))
	m.HandleFunc("GET /openapi.json", g.need(scopeRead, g.handleOpenAPI))
	m.HandleFunc("GET /docs", g.need(scopeNone, g.handleDocs))
	ui := dashboard.Handler()
	m.Handle("GET /ui/", http.StripPrefix("/ui", ui))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { ui.ServeHTTP(w, r) })
	// Browsers ask for /favicon.ico on pages that link no icon (JSON,
	// /healthz): the dashboard's icon, not a 404.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		r = r.Clone(r.Context())
		r.URL.Path = "/icon.svg"
		ui.ServeHTTP(w, r)
	})
	m.HandleFunc("/", g.notFound)
	g.handler = g.instrument(g.refuseBrowserAttacks(m))
}
