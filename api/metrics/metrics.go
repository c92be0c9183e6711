// Package metrics defines DDnsBroker's Prometheus metrics on a registry of
// its own (no globals) and serves them.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Metrics are the instruments the server's parts update.
type Metrics struct {
	Registry *prometheus.Registry
	// DynDNSAnswers counts dyndns2 answers by code (good, nochg, badauth, 911, …).
	DynDNSAnswers *prometheus.CounterVec
	// AuthFailures counts failed router authentications by reason.
	AuthFailures *prometheus.CounterVec
	// RateLimited counts requests refused by a limiter, by limiter.
	RateLimited *prometheus.CounterVec
	// Deliveries counts delivery attempts by protocol and outcome.
	Deliveries *prometheus.CounterVec
	// DeliverySeconds is the duration of delivery attempts by protocol.
	DeliverySeconds *prometheus.HistogramVec
}

// New registers every metric, including the outbox depth and pool
// statistics read from st at scrape time.
func New(st *store.Store) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		DynDNSAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ddnsbroker_dyndns2_requests_total",
			Help: "dyndns2 update requests by answer code."}, []string{"code"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ddnsbroker_auth_failures_total",
			Help: "Failed router authentications by reason."}, []string{"reason"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ddnsbroker_rate_limited_total",
			Help: "Requests refused by a rate limit, by limiter."}, []string{"limiter"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ddnsbroker_deliveries_total",
			Help: "Delivery attempts by protocol and outcome (delivered, retry, failed, blocked)."}, []string{"protocol", "outcome"}),
		DeliverySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ddnsbroker_delivery_duration_seconds",
			Help:    "Duration of delivery attempts (the upstream's answer time).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"protocol"}),
	}
	reg.MustRegister(m.DynDNSAnswers, m.AuthFailures, m.RateLimited, m.Deliveries, m.DeliverySeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{st: st})
	return m
}

// Handler serves the registry; token, when set, is required as a bearer token.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
	if token == "" {
		return h
	}
	want := "Bearer " + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !constantTimeEqual(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token from DDNSBROKER_METRICS_TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// dbCollector reads the outbox depth and the pool statistics when scraped.
type dbCollector struct{ st *store.Store }

var (
	queueDepth = prometheus.NewDesc("ddnsbroker_deliveries_queued", "Deliveries waiting or running, by state.", []string{"state"}, nil)
	oldestDue  = prometheus.NewDesc("ddnsbroker_deliveries_oldest_due_seconds", "Age of the oldest delivery that is due and not yet sent.", nil, nil)
	dbUp       = prometheus.NewDesc("ddnsbroker_database_up", "Whether the database answered the scrape's query.", nil, nil)
	poolConns  = prometheus.NewDesc("ddnsbroker_db_pool_connections", "Database pool connections by state.", []string{"state"}, nil)
	poolWaits  = prometheus.NewDesc("ddnsbroker_db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWait   = prometheus.NewDesc("ddnsbroker_db_pool_acquire_wait_seconds_total", "Time spent waiting for pool connections.", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepth, oldestDue, dbUp, poolConns, poolWaits, poolWait} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.MaxConns()), "max")
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q, err := c.st.Queue(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(dbUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(q.Pending), string(store.DeliveryPending))
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(q.Running), string(store.DeliveryRunning))
	ch <- prometheus.MustNewConstMetric(oldestDue, prometheus.GaugeValue, q.OldestDue.Seconds())
}

func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}
