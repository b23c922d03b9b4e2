package engine

import "github.com/prometheus/client_golang/prometheus"

// metrics are the engine's Prometheus metrics.
type metrics struct {
	syncs       *prometheus.CounterVec
	pauses      prometheus.Counter
	created     *prometheus.CounterVec
	transitions *prometheus.CounterVec

	connectorSyncs *prometheus.CounterVec
	provisioning   *prometheus.CounterVec

	workerFailures *prometheus.CounterVec
	viewRefreshes  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_syncs_total", Help: "Profile syncs by outcome (applied, paused, skipped).",
		}, []string{"outcome"}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_safeguard_pauses_total", Help: "Syncs the safeguard paused.",
		}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_tasks_created_total", Help: "Tasks created, by kind and origin.",
		}, []string{"kind", "origin"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_task_transitions_total", Help: "Tasks entering each state.",
		}, []string{"state"}),
		connectorSyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_connector_syncs_total", Help: "Connector syncs by outcome (applied, held, failed).",
		}, []string{"outcome"}),
		provisioning: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_connector_provisioning_total", Help: "Connector provisioning attempts by outcome (done, retry, failed).",
		}, []string{"outcome"}),
		workerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_worker_failures_total", Help: "Failures of background work (an item, or a whole run), by worker (scheduler, changes, notifier, provisioner, connectors).",
		}, []string{"worker"}),
		viewRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_sync_views_total", Help: "Views of the organisation planned passes of syncs from, by how they were had: read whole, or the last one refreshed for the users changed since.",
		}, []string{"how"}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.pauses, m.created, m.transitions, m.connectorSyncs, m.provisioning, m.workerFailures, m.viewRefreshes)
	}
	return m
}
