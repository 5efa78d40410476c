package main

import (
	"math"
	"slices"
	"time"
)

// Units of a row's values.
const (
	unitMs  = "ms"
	unitMiB = "MiB"
)

// metric names one figure a scenario measures per trial.
type metric struct {
	name string
	unit string
}

// row is one line of the table: every trial's value of one metric of one
// scenario of one system.
type row struct {
	System   string        `json:"system"`
	Scenario string        `json:"scenario"`
	Metric   string        `json:"metric"`
	Unit     string        `json:"unit"`
	TTL      time.Duration `json:"-"`
	Values   []float64     `json:"values"`
	Failed   int           `json:"failed"`
	Errors   []string      `json:"errors,omitempty"`
}

// median returns the median value, NaN if there is none.
func (r *row) median() float64 {
	if len(r.Values) == 0 {
		return math.NaN()
	}
	v := slices.Clone(r.Values)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// worst returns the largest value, NaN if there is none.
func (r *row) worst() float64 {
	if len(r.Values) == 0 {
		return math.NaN()
	}
	return slices.Max(r.Values)
}

// results collects rows in the order they were first named.
type results struct {
	rows  []*row
	index map[string]*row
	notes []string // odd things seen along the way
}

func newResults() *results { return &results{index: map[string]*row{}} }

// row returns the row of (system, scenario, m), adding it if new.
func (r *results) row(system, scenario string, ttl time.Duration, m metric) *row {
	key := system + "\x00" + scenario + "\x00" + m.name
	if rw, ok := r.index[key]; ok {
		return rw
	}
	rw := &row{System: system, Scenario: scenario, Metric: m.name, Unit: m.unit, TTL: ttl}
	r.rows = append(r.rows, rw)
	r.index[key] = rw
	return rw
}

// failed returns how many trials failed over all rows.
func (r *results) failed() int {
	n := 0
	for _, rw := range r.rows {
		n += rw.Failed
	}
	return n
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mib converts bytes to MiB.
func mib(b int64) float64 { return float64(b) / (1 << 20) }
