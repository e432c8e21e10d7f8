package gateway

import (
	"net/http"

	"github.com/conveyor-run/conveyor/dashboard"
)

// route is one endpoint of API v1: its pattern (method and path, as
// http.ServeMux takes them), the scope a token needs for it, and its
// handler. Every route is documented in /openapi.json (TestOpenAPIRoutes).
type route struct {
	pattern string
	scope   string
	handler http.HandlerFunc
}

// api returns the endpoints of API v1 and of the server's health.
func (g *Gateway) api() []route {
	return []route{
		{"POST /v1/jobs", scopeSubmit, g.handleSubmit},
		{"POST /v1/jobs/batch", scopeSubmit, g.handleSubmitBatch},
		{"GET /v1/jobs", scopeRead, g.handleList},
		{"GET /v1/jobs/{id}", scopeRead, g.handleGet},
		{"GET /v1/jobs/{id}/logs", scopeRead, g.handleLogs},
		{"GET /v1/jobs/{id}/events", scopeRead, g.limitStreams(g.handleEvents)},
		{"GET /v1/events", scopeRead, g.limitStreams(g.handleAllEvents)},
		{"POST /v1/jobs/{id}/cancel", scopeCancel, g.handleCancel},
		{"POST /v1/jobs/{id}/retry", scopeSubmit, g.handleRetry},
		{"DELETE /v1/jobs/{id}", scopeCancel, g.handleDelete},
		{"POST /v1/jobs/retry", scopeSubmit, g.handleRetryMatching},
		{"POST /v1/jobs/cancel", scopeCancel, g.handleCancelMatching},
		{"POST /v1/algorithms/{name}/jobs", scopeSubmit, g.handleSubmitInput},
		{"POST /v1/algorithms/{name}/run", scopeSubmit, g.handleCall},
		{"GET /v1/algorithms/{name}/run", scopeSubmit, g.handleCall},
		{"GET /v1/algorithms", scopeRead, g.handleAlgorithms},
		{"GET /v1/algorithms/{name}", scopeRead, g.handleAlgorithm},
		{"GET /v1/runners", scopeRead, g.handleRunners},
		{"GET /v1/stats", scopeRead, g.handleStats},
		{"POST /v1/schedules", scopeSubmit, g.handleCreateSchedule},
		{"GET /v1/schedules", scopeRead, g.handleSchedules},
		{"GET /v1/schedules/{name}", scopeRead, g.handleSchedule},
		{"DELETE /v1/schedules/{name}", scopeSubmit, g.handleDeleteSchedule},
		{"POST /v1/schedules/{name}/pause", scopeSubmit, g.handlePauseSchedule(true)},
		{"POST /v1/schedules/{name}/resume", scopeSubmit, g.handlePauseSchedule(false)},
		{"POST /v1/schedules/{name}/trigger", scopeSubmit, g.handleTriggerSchedule},
		{"POST /v1/files", scopeSubmit, g.handleUpload},
		{"GET /v1/files/{id}", scopeRead, g.handleDownload},
		{"GET /v1/jobs/{id}/artifacts/{name}", scopeRead, g.handleArtifact},
		{"GET /v1/whoami", scopeToken, g.handleWhoami},
		{"GET /healthz", scopeNone, g.handleHealth},
		{"GET /readyz", scopeNone, g.handleReady},
		{"GET /metrics", scopeMetrics, g.cfg.Metrics.Handler().ServeHTTP},
		{"GET /openapi.json", scopeRead, g.handleOpenAPI},
		{"GET /docs", scopeNone, g.handleDocs},
	}
}

// routes maps every endpoint of API v1 to its handler and the scope a
// token needs for it, and the dashboard's files.
func (g *Gateway) routes() {
	m := http.NewServeMux()
	for _, r := range g.api() {
		m.HandleFunc(r.pattern, g.need(r.scope, r.handler))
	}
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
