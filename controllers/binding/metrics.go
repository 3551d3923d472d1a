package binding

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/component-base/metrics/legacyregistry"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	metricsAccepted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "meseta_binding_offers_accepted_total", Help: "Offers accepted for tasks.",
	})
	metricsBound = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "meseta_binding_tasks_bound_total", Help: "Tasks bound to a node (spec.nodeName set).",
	})
	metricsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meseta_binding_tasks_dropped_total", Help: "Tasks ended before launch, by reason.",
	}, []string{"reason"})
	metricsAdmitted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "meseta_binding_tasks_admitted_total", Help: "Tasks placed by an operator and admitted.",
	})
)

// The binder's metrics go to controller-runtime's registry and to the API
// server's, which serves them on the master's /metrics.
func init() {
	all := []prometheus.Collector{metricsAccepted, metricsBound, metricsDropped, metricsAdmitted}
	ctrlmetrics.Registry.MustRegister(all...)
	legacyregistry.RawMustRegister(all...)
}
