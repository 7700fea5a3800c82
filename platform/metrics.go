package platform

import (
	"database/sql"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is shopd's Prometheus registry: HTTP request counts and latency
// per route, database pool statistics, Go runtime and process metrics, and
// build information. It is safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics returns a registry with the runtime, process and build-info
// collectors registered.
func NewMetrics(version string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopd_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shopd_http_request_duration_seconds",
			Help: "HTTP request latency by method and route pattern.",
			// From 1 ms (a cached catalog read) to 10 s (a slow gateway).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shopd_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "shopd_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors (a module's queue depth, a worker's lag).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// RegisterDB exports the statistics of a database/sql pool, labelled with
// its name ("write", "read").
func (m *Metrics) RegisterDB(name string, db *sql.DB) error {
	return m.registry.Register(collectors.NewDBStatsCollector(db, name))
}

// Begin counts a request in flight and returns the function that records
// its end. route is the matched route pattern (bounded cardinality), never
// the raw path.
func (m *Metrics) Begin() func(method, route string, status int, d time.Duration) {
	m.inFlight.Inc()
	return func(method, route string, status int, d time.Duration) {
		m.inFlight.Dec()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(d.Seconds())
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
