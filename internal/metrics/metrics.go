// Package metrics exposes coordinator state as Prometheus metrics.
//
//	baton_coordinator_state{role,state}          1 for the current state, 0 otherwise
//	baton_coordinator_transitions_total{role,state}  state changes, by state entered
//	baton_coordinator_activation_seconds{role}    activation time (campaign won to serving)
//	baton_coordinator_evictions_total{role}       dead actives evicted by fast detection
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batonhq/baton/pkg/standby"
)

var states = []standby.State{
	standby.Starting, standby.Standby, standby.Activating, standby.Active, standby.Stopping,
}

// Metrics holds the collectors of one process.
type Metrics struct {
	reg         *prometheus.Registry
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	activation  *prometheus.HistogramVec
	evictions   *prometheus.CounterVec
}

// New returns collectors registered in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "baton_coordinator_state",
			Help: "1 for the coordinator's current state, 0 for the others.",
		}, []string{"role", "state"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_coordinator_transitions_total",
			Help: "State changes, by the state entered.",
		}, []string{"role", "state"}),
		activation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_coordinator_activation_seconds",
			Help:    "Time from winning the role to serving.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"role"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_coordinator_evictions_total",
			Help: "Dead actives evicted by fast detection.",
		}, []string{"role"}),
	}
	m.reg.MustRegister(m.state, m.transitions, m.activation, m.evictions,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// StateHook returns a function for standby.WithStateHook.
func (m *Metrics) StateHook(role string) func(standby.State) {
	return func(st standby.State) {
		for _, s := range states {
			v := 0.0
			if s == st {
				v = 1
			}
			m.state.WithLabelValues(role, s.String()).Set(v)
		}
		m.transitions.WithLabelValues(role, st.String()).Inc()
	}
}

// ObserveActivation records one activation.
func (m *Metrics) ObserveActivation(role string, d time.Duration) {
	m.activation.WithLabelValues(role).Observe(d.Seconds())
}

// EvictHook returns a function for standby.WithEvictHook.
func (m *Metrics) EvictHook(role string) func() {
	return func() { m.evictions.WithLabelValues(role).Inc() }
}

// Serve serves /metrics on addr until ctx ends.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w; change metrics.address", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve on %s: %w", addr, err)
	}
	return nil
}
