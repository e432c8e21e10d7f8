// Package metrics defines Conveyor's Prometheus metrics, shared by the
// gateway and the runner of a process. Each part counts what it does:
// gateways count submits, cancels and HTTP requests and report the queue as
// their index sees it; runners count attempts, outcomes and calls and
// report their workers, so sums over a cluster's processes are right.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors of one process, in a registry of their own.
// A nil *Metrics is not valid; use New.
type Metrics struct {
	reg *prometheus.Registry

	// Submitted counts accepted jobs, by algorithm.
	Submitted *prometheus.CounterVec
	// Finished counts jobs that reached a final status, by algorithm and
	// status. A pipeline's job counts under the pipeline, whichever stage
	// it ended in.
	Finished *prometheus.CounterVec
	// Stages counts the stages of pipeline jobs that ended, by the stage's
	// algorithm, its pipeline and status: succeeded (its output went to
	// the next stage or ended the job), failed (for good) or canceled.
	Stages *prometheus.CounterVec
	// Attempts counts attempts that ended, by algorithm and outcome:
	// succeeded, failed, retried, canceled, interrupted, superseded.
	Attempts *prometheus.CounterVec
	// Duration observes how long attempts ran, by algorithm.
	Duration *prometheus.HistogramVec
	// QueueWait observes how long jobs waited between being queued and
	// starting, by algorithm.
	QueueWait *prometheus.HistogramVec
	// Calls observes synchronous calls on the runner, by algorithm and
	// outcome (ok, failed, timeout).
	Calls *prometheus.HistogramVec
	// HTTP observes HTTP requests, by route pattern, method and code.
	HTTP *prometheus.HistogramVec
	// BatchSize observes how many jobs each batch sent to a worker held,
	// by algorithm (batch algorithms only).
	BatchSize *prometheus.HistogramVec
}

// BatchSizeBuckets are the buckets of the batch size histogram: powers of
// two up to 1024, the largest batch a worker may ask for.
var BatchSizeBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// Buckets of the latency histograms, in seconds: 100 µs to 1 h.
var buckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// New makes the collectors of a process, with the Go runtime's and the
// process's own, in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_jobs_submitted_total", Help: "Jobs accepted by this gateway.",
		}, []string{"algorithm"}),
		Finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_jobs_finished_total", Help: "Jobs that reached a final status through this process.",
		}, []string{"algorithm", "status"}),
		Stages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_stages_finished_total", Help: "Stages of pipeline jobs that ended on this runner, by stage algorithm, pipeline and status.",
		}, []string{"algorithm", "pipeline", "status"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_attempts_total", Help: "Attempts that ended on this runner, by outcome.",
		}, []string{"algorithm", "outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_attempt_duration_seconds", Help: "How long attempts ran.", Buckets: buckets,
		}, []string{"algorithm"}),
		QueueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_queue_wait_seconds", Help: "How long jobs waited in the queue before an attempt started.", Buckets: buckets,
		}, []string{"algorithm"}),
		Calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_call_duration_seconds", Help: "Synchronous calls served by this runner.", Buckets: buckets,
		}, []string{"algorithm", "outcome"}),
		HTTP: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_http_request_duration_seconds", Help: "HTTP requests served by this gateway.", Buckets: buckets,
		}, []string{"route", "method", "code"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_batch_size", Help: "Jobs per batch sent to a worker process, for algorithms that run in batches.", Buckets: BatchSizeBuckets,
		}, []string{"algorithm"}),
	}
	m.reg.MustRegister(m.Submitted, m.Finished, m.Stages, m.Attempts, m.Duration, m.QueueWait, m.Calls, m.HTTP, m.BatchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds a collector of the process's parts, such as one that
// reads a pool's busy slots when scraped. It returns an error if c
// collides with a registered collector.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Unregister removes a collector added by Register.
func (m *Metrics) Unregister(c prometheus.Collector) { m.reg.Unregister(c) }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
