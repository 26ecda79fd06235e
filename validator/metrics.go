package validator

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	submissions *prometheus.CounterVec
	evalSeconds prometheus.Histogram
	ema         *prometheus.GaugeVec
	block       prometheus.Gauge
	weights     *prometheus.CounterVec
	retries     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refine_validator_submissions_total",
			Help: "Submissions evaluated, by outcome code (accepted or the rejection code).",
		}, []string{"code"}),
		evalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "refine_validator_evaluation_seconds",
			Help:    "Time to evaluate one submission.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
		}),
		ema: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "refine_validator_ema",
			Help: "Moving average score per uid.",
		}, []string{"uid"}),
		block: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "refine_validator_last_round_block",
			Help: "Block of the last evaluation round.",
		}),
		weights: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refine_validator_weights_total",
			Help: "Weight submissions by kind (set, commit, reveal; drop: an expired commit dropped) and result (ok, error).",
		}, []string{"kind", "result"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "refine_validator_retries_total",
			Help: "Evaluations that failed on the validator's side (task server, store, chain, WARC host) and are retried later; never a verdict.",
		}),
	}
	reg.MustRegister(m.submissions, m.evalSeconds, m.ema, m.block, m.weights, m.retries)
	return m
}
