package offers

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/component-base/metrics/legacyregistry"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"meseta.dev/meseta/pkg/ledger"
)

// metrics are the offer controller's Prometheus metrics, in the spirit of the
// Mesos allocator's: cycle times, offers made and closed, what the ledger
// holds.
type metrics struct {
	cycle        prometheus.Histogram
	allocation   prometheus.Histogram
	made         prometheus.Counter
	closed       *prometheus.CounterVec
	outstanding  prometheus.Gauge
	tasks        prometheus.Gauge
	statusWrites prometheus.Counter
	violations   prometheus.Gauge
	auditDropped prometheus.Counter
}

var (
	metricsOnce sync.Once
	theMetrics  *metrics
)

// newMetrics returns the metrics, registered once per process with
// controller-runtime's registry and with the API server's, which serves them
// on the master's /metrics.
func newMetrics() *metrics {
	metricsOnce.Do(func() {
		buckets := prometheus.ExponentialBuckets(0.0005, 2, 16)
		m := &metrics{
			cycle: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "meseta_allocator_cycle_seconds", Buckets: buckets,
				Help: "Time of an allocation cycle: closing offers, allocating and creating offers.",
			}),
			allocation: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "meseta_allocator_allocation_run_seconds", Buckets: buckets,
				Help: "Time of the allocation itself, without API writes (Mesos' allocation_run_ms).",
			}),
			made: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "meseta_allocator_offers_made_total", Help: "Offers created.",
			}),
			closed: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "meseta_allocator_offers_closed_total", Help: "Offers that left the Outstanding phase, by phase.",
			}, []string{"phase"}),
			outstanding: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "meseta_allocator_offers_outstanding", Help: "Outstanding offers in the ledger.",
			}),
			tasks: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "meseta_allocator_tasks_holding_resources", Help: "Tasks that hold resources in the ledger.",
			}),
			statusWrites: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "meseta_allocator_status_writes_total", Help: "Node, Framework and Role statuses written.",
			}),
			violations: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "meseta_allocator_ledger_problems", Help: "Nodes committed past allocatable, or drifted sums, at the last audit.",
			}),
			auditDropped: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "meseta_allocator_audit_dropped_offers_total",
				Help: "Offers the ledger held as outstanding that the API server did not (closed or gone), dropped by the audit.",
			}),
		}
		all := []prometheus.Collector{m.cycle, m.allocation, m.made, m.closed, m.outstanding, m.tasks, m.statusWrites, m.violations, m.auditDropped}
		ctrlmetrics.Registry.MustRegister(all...)
		legacyregistry.RawMustRegister(all...)
		theMetrics = m
	})
	return theMetrics
}

func (m *metrics) observeCycle(allocation, total time.Duration, _ int, st ledger.Stats) {
	m.allocation.Observe(allocation.Seconds())
	m.cycle.Observe(total.Seconds())
	m.outstanding.Set(float64(st.Offers))
	m.tasks.Set(float64(st.Tasks))
}
