package service

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// metrics are secretsync's Prometheus metrics, fed from each pass's Result
// so that the reconciler needs no metrics library. No label ever holds a
// value or a secret name.
type metrics struct {
	registry      *prometheus.Registry
	passDuration  *prometheus.HistogramVec
	lastSuccess   prometheus.Gauge
	revision      *prometheus.GaugeVec
	managed       prometheus.Gauge
	failures      *prometheus.CounterVec
	passes        *prometheus.CounterVec
	awsCalls      *prometheus.CounterVec
	awsCost       prometheus.Counter
	secretChanges *prometheus.CounterVec
	pruneRefused  prometheus.Gauge
	suspended     prometheus.Gauge
	events        *prometheus.CounterVec
	eventLag      prometheus.Histogram

	mu      sync.Mutex
	lastRev string
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "secretsync_pass_duration_seconds", Help: "Duration of reconcile passes, by the stage they reached.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"stage"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_last_success_timestamp_seconds", Help: "Unix time of the last fully successful pass."}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "secretsync_revision_info", Help: "The revision of the last pass that reached the render stage (value 1)."}, []string{"revision"}),
		managed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_managed_secrets", Help: "Secrets in the inventory of this instance."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_pass_failures_total", Help: "Failed passes, by the reason of the first stage that failed."}, []string{"reason"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_passes_total", Help: "Passes, by result: ok, failed or skipped."}, []string{"result"}),
		awsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_aws_calls_total", Help: "AWS API calls, by operation and outcome."}, []string{"operation", "outcome"}),
		awsCost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "secretsync_aws_cost_usd_total", Help: "Estimated cost of the AWS API calls, at USD 0.05 per 10,000."}),
		secretChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_secret_changes_total", Help: "Secrets written or deleted, by action."}, []string{"action"}),
		pruneRefused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_prune_refused_secrets", Help: "Secrets the last pass would have pruned but a guard (budget, empty render) refused; 0 when it pruned or had nothing to prune."}),
		suspended: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_suspended", Help: "1 while the instance is suspended (secretsync suspend), else 0."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_events_total", Help: "AWS change events from the queue, by outcome: received, matched (named an ExternalSecret's secret), unmatched, ignored (foreign, malformed or dropped), failed_call (errorCode set), other_account (not in --events-accounts)."}, []string{"outcome"}),
		eventLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "secretsync_event_lag_seconds", Help: "From an AWS change event's time to the end of the pass that applied it.",
			Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 300}}),
	}
	m.registry.MustRegister(m.passDuration, m.lastSuccess, m.revision, m.managed, m.failures, m.passes,
		m.awsCalls, m.awsCost, m.secretChanges, m.pruneRefused, m.suspended, m.events, m.eventLag, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// record folds one pass into the metrics.
func (m *metrics) record(res reconciler.Result) {
	m.passDuration.WithLabelValues(string(res.Stage)).Observe(res.Duration.Seconds())
	switch {
	case res.Stage == reconciler.StageSkipped:
		m.passes.WithLabelValues("skipped").Inc()
	case res.OK():
		m.passes.WithLabelValues("ok").Inc()
		m.lastSuccess.Set(float64(time.Now().Unix()))
	default:
		m.passes.WithLabelValues("failed").Inc()
		m.failures.WithLabelValues(string(res.Reason)).Inc()
	}
	if res.Stage != reconciler.StageFetch && res.Stage != reconciler.StageSkipped {
		m.managed.Set(float64(res.Managed))
	}
	if res.Revision != "" {
		m.mu.Lock()
		if res.Revision != m.lastRev {
			m.revision.Reset()
			m.lastRev = res.Revision
		}
		m.mu.Unlock()
		m.revision.WithLabelValues(res.Revision).Set(1)
	}
	var calls int64
	for k, n := range res.AWSCalls {
		op, outcome, _ := strings.Cut(k, " ")
		m.awsCalls.WithLabelValues(op, outcome).Add(float64(n))
		calls += n
	}
	m.awsCost.Add(float64(calls) * aws.PricePer10k / 10000)
	m.secretChanges.WithLabelValues("applied").Add(float64(res.Applied))
	m.secretChanges.WithLabelValues("pruned").Add(float64(res.Pruned))
	if res.Stage != reconciler.StageSkipped {
		m.pruneRefused.Set(float64(len(res.PruneRefused)))
	}
}

func (m *metrics) setSuspended(on bool) {
	v := 0.0
	if on {
		v = 1
	}
	m.suspended.Set(v)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// readiness is /readyz: ready after the first successful pass, otherwise
// 503 with the reason.
type readiness struct {
	mu     sync.Mutex
	ready  bool
	reason string
}

func (r *readiness) record(res reconciler.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case res.OK() && res.Stage != reconciler.StageSkipped:
		r.ready, r.reason = true, ""
	case !res.OK() && !r.ready:
		r.reason = "no successful pass yet; last pass: " + string(res.Reason)
	}
}

func (r *readiness) set(ready bool, reason string) {
	r.mu.Lock()
	r.ready, r.reason = ready, reason
	r.mu.Unlock()
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	ready, reason := r.ready, r.reason
	r.mu.Unlock()
	if !ready {
		if reason == "" {
			reason = "no successful pass yet"
		}
		http.Error(w, reason, http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
