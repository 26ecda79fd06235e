package miner

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	leases, completed, documents, tokens prometheus.Counter
	errors                               *prometheus.CounterVec
	seconds                              prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		leases:    prometheus.NewCounter(prometheus.CounterOpts{Name: "refine_miner_leases_total", Help: "Tasks leased."}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{Name: "refine_miner_tasks_completed_total", Help: "Tasks completed (committed and lease completed)."}),
		documents: prometheus.NewCounter(prometheus.CounterOpts{Name: "refine_miner_documents_total", Help: "Documents in completed submissions."}),
		tokens:    prometheus.NewCounter(prometheus.CounterOpts{Name: "refine_miner_tokens_total", Help: "GPT-2 tokens in completed submissions."}),
		errors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "refine_miner_errors_total", Help: "Errors by stage."}, []string{"stage"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "refine_miner_task_seconds", Help: "Lease-to-completion time.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.leases, m.completed, m.documents, m.tokens, m.errors, m.seconds)
	}
	return m
}
