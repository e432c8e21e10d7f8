package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
)

// instrument observes every request's latency by route pattern, method
// and status code.
func (g *Gateway) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "other" // unknown paths must not make a label each
		}
		g.httpSeries(route, r.Method, sw.code).Observe(time.Since(start).Seconds())
	})
}

// httpKey names one series of the request histogram.
type httpKey struct {
	route, method string
	code          int
}

// httpSeries returns the request histogram's series for a route, method
// and status, looked up by label once per series rather than per request.
// Routes are the mux's patterns, so the series are few.
func (g *Gateway) httpSeries(route, method string, code int) prometheus.Observer {
	k := httpKey{route, method, code}
	if o, ok := g.httpObs.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o := g.cfg.Metrics.HTTP.WithLabelValues(route, method, strconv.Itoa(code))
	g.httpObs.Store(k, o)
	return o
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols { // not an interim 1xx such as 103
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// collector reports, when scraped, what the gateway's views hold: jobs by
// algorithm and status (queued and running), the age of the oldest queued
// job per algorithm, and the live runners.
type collector struct{ g *Gateway }

var (
	descJobs = prometheus.NewDesc("conveyor_jobs", "Jobs queued or running, as this gateway's index sees them.",
		[]string{"algorithm", "status"}, nil)
	descOldest = prometheus.NewDesc("conveyor_oldest_queued_seconds", "Age of the oldest queued job.",
		[]string{"algorithm"}, nil)
	descRunners   = prometheus.NewDesc("conveyor_runners", "Live runners.", nil, nil)
	descToArchive = prometheus.NewDesc("conveyor_jobs_to_archive",
		"Finished jobs this gateway will move from the job store to the history (see README, History).", nil, nil)
	descIndexed = prometheus.NewDesc("conveyor_job_index_changes_total",
		"Job changes this gateway's job index has taken from the broker since the process started: after a restart, only what changed while it was down.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJobs
	ch <- descOldest
	ch <- descRunners
	ch <- descIndexed
	ch <- descToArchive
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, k := range c.g.reg.algorithms() {
		for _, st := range []conveyor.Status{conveyor.StatusScheduled, conveyor.StatusQueued, conveyor.StatusRunning} {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(c.g.jobs.countOf(k.Name, st)), k.Name, string(st))
		}
	}
	for alg, id := range c.g.jobs.oldestQueued() {
		if u, err := ulid.ParseStrict(id); err == nil {
			ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, now.Sub(ulid.Time(u.Time())).Seconds(), alg)
		}
	}
	ch <- prometheus.MustNewConstMetric(descRunners, prometheus.GaugeValue, float64(len(c.g.reg.live(now))))
	ch <- prometheus.MustNewConstMetric(descIndexed, prometheus.CounterValue, float64(c.g.indexed.Load()))
	ch <- prometheus.MustNewConstMetric(descToArchive, prometheus.GaugeValue, float64(c.g.archive.backlog()))
}
