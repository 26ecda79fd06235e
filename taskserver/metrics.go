package taskserver

import (
	"context"
	"time"

	"github.com/datarefine/refine/taskapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	transitions   *prometheus.CounterVec
	verifySeconds prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, svc *Service) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskserver_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "taskserver_request_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskserver_lease_transitions_total", Help: "Lease transitions made through the API.",
		}, []string{"kind"}),
		verifySeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taskserver_signature_verify_seconds_total", Help: "Time spent verifying sr25519 request signatures.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.transitions, m.verifySeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newPoolCollector(svc))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "taskserver_chain_head_block", Help: "Last chain block seen by the task server.",
	}, func() float64 { return float64(svc.Roster().Head()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "taskserver_registered_hotkeys", Help: "Hotkeys in the cached metagraph.",
	}, func() float64 { return float64(svc.Roster().Size()) }))
	return m
}

// poolCollector exports the pool's gauges, read from the store at scrape
// time with one Counts per scrape (not one per gauge: /metrics is public,
// and every read aggregates the tables). A failed read reports -1.
type poolCollector struct {
	svc    *Service
	gauges []poolGauge
}

type poolGauge struct {
	desc *prometheus.Desc
	f    func(taskapi.Counts) int64
}

func newPoolCollector(svc *Service) *poolCollector {
	g := func(name, help string, f func(taskapi.Counts) int64) poolGauge {
		return poolGauge{prometheus.NewDesc(name, help, nil, nil), f}
	}
	return &poolCollector{svc: svc, gauges: []poolGauge{
		g("taskserver_tasks_pending", "Tasks in the pool.", func(c taskapi.Counts) int64 { return c.Pending }),
		g("taskserver_tasks_leased", "Tasks under a live lease.", func(c taskapi.Counts) int64 { return c.Leased }),
		g("taskserver_tasks_submitted", "Tasks completed, awaiting the validators' decision.", func(c taskapi.Counts) int64 { return c.Submitted }),
		g("taskserver_tasks_done", "Tasks whose submission the validators accepted.", func(c taskapi.Counts) int64 { return c.Done }),
	}}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range p.gauges {
		ch <- g.desc
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := p.svc.Store().Counts(ctx)
	for _, g := range p.gauges {
		v := float64(-1)
		if err == nil {
			v = float64(g.f(c))
		}
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}
