package gateway

import "net/http"

// routes maps every endpoint of API v1 to its handler.
func (g *Gateway) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/jobs", g.handleSubmit)
	m.HandleFunc("GET /v1/jobs", g.handleList)
	m.HandleFunc("GET /v1/jobs/{id}", g.handleGet)
	m.HandleFunc("GET /v1/jobs/{id}/logs", g.handleLogs)
	m.HandleFunc("POST /v1/jobs/{id}/cancel", g.handleCancel)
	m.HandleFunc("POST /v1/algorithms/{name}/jobs", g.handleSubmitInput)
	m.HandleFunc("POST /v1/algorithms/{name}/run", g.handleCall)
	m.HandleFunc("GET /v1/algorithms/{name}/run", g.handleCall)
	m.HandleFunc("GET /v1/algorithms", g.handleAlgorithms)
	m.HandleFunc("GET /v1/algorithms/{name}", g.handleAlgorithm)
	m.HandleFunc("GET /v1/runners", g.handleRunners)
	m.HandleFunc("GET /healthz", g.handleHealth)
	m.HandleFunc("GET /readyz", g.handleReady)
	m.Handle("GET /metrics", g.cfg.Metrics.Handler())
	m.HandleFunc("GET /openapi.json", g.handleOpenAPI)
	m.HandleFunc("GET /docs", g.handleDocs)
	m.HandleFunc("/", g.notFound)
	g.mux = m
	g.handler = g.instrument(m)
}
