package binding

import (
	"github.com/prometheus/client_golang/prometheus"
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

func init() {
	ctrlmetrics.Registry.MustRegister(metricsAccepted, metricsBound, metricsDropped, metricsAdmitted)
}
