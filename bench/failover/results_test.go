package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedianWorst(t *testing.T) {
	tests := []struct {
		values        []float64
		median, worst float64
	}{
		{nil, math.NaN(), math.NaN()},
		{[]float64{5}, 5, 5},
		{[]float64{9, 1, 5}, 5, 9},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
	}
	for _, tc := range tests {
		r := &row{Values: tc.values}
		if got := r.median(); !same(got, tc.median) {
			t.Errorf("median(%v) = %v, want %v", tc.values, got, tc.median)
		}
		if got := r.worst(); !same(got, tc.worst) {
			t.Errorf("worst(%v) = %v, want %v", tc.values, got, tc.worst)
		}
	}
}

func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestParseTook(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration
		ok   bool
	}{
		{
			`time=x level=INFO msg="switched from STANDBY to ACTIVE" epoch=7 took=2.345ms`,
			2345 * time.Microsecond, true,
		},
		{`msg="switched from STANDBY to ACTIVE" took=1.5s epoch=3`, 1500 * time.Millisecond, true},
		{`msg="switched from STANDBY to ACTIVE" mistook=1s`, 0, false},
		{`msg="switched from STANDBY to ACTIVE" took=soon`, 0, false},
	}
	for _, tc := range tests {
		got, err := parseTook(tc.line)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseTook(%q) = %v, %v; want %v, ok=%v", tc.line, got, err, tc.want, tc.ok)
		}
	}
}

func TestLongestGap(t *testing.T) {
	t0 := time.Now()
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	tests := []struct {
		oks  []time.Time
		want time.Duration
	}{
		{nil, 0},
		{at(0), 0},
		{at(0, 1, 2, 250, 251), 248 * time.Millisecond},
		{at(0, 300, 301), 300 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := longestGap(tc.oks); got != tc.want {
			t.Errorf("longestGap = %v, want %v", got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(o options) bool
	}{
		{nil, "", func(o options) bool {
			return o.trials == 10 && o.baselineTrials == 3 && len(o.sizes) == 3 &&
				o.wants(sysBaton, scCatalog) && o.wants(sysEtcd, scGraceful)
		}},
		{[]string{"-quick", "-trials", "7"}, "", func(o options) bool {
			return o.trials == 1 && o.baselineTrials == 1 && len(o.sizes) == 1 && o.sizes[0] == 1000
		}},
		{[]string{"-sizes", "100000, 1000,1000"}, "", func(o options) bool {
			return len(o.sizes) == 2 && o.sizes[0] == 1000 && o.sizes[1] == 100000
		}},
		{[]string{"-only", "crash"}, "", func(o options) bool {
			return o.wants(sysBaton, scCrash) && o.wants(sysMilvus, scCrash) &&
				o.wants(sysEtcd, scCrash) && !o.wants(sysBaton, scGraceful)
		}},
		{[]string{"-only", "etcd-election,baton/frozen"}, "", func(o options) bool {
			return o.wants(sysEtcd, scGap) && o.wants(sysBaton, scFrozen) &&
				!o.wants(sysBaton, scCrash) && !o.wants(sysMilvus, scCrash)
		}},
		{[]string{"-only", "milvus-like/graceful"}, "names no system", nil},
		{[]string{"-only", "crsh"}, "names no system", nil},
		{[]string{"-sizes", "10,x"}, "not a positive number", nil},
		{[]string{"-o", "csv"}, "use table, markdown or json", nil},
		{[]string{"-trials", "0"}, "at least 1", nil},
	}
	for _, tc := range tests {
		o, err := parseOptions(tc.args, &strings.Builder{})
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("parseOptions(%q) error = %v, want one containing %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("parseOptions(%q): %v", tc.args, err)
		case tc.check != nil && !tc.check(o):
			t.Errorf("parseOptions(%q) = %+v", tc.args, o)
		}
	}
}

func TestValueFormat(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{math.NaN(), unitMs, "-"},
		{212.34, unitMs, "212.3 ms"},
		{999.94, unitMs, "999.9 ms"},
		{9841.5, unitMs, "9.84 s"},
		{31250, unitMs, "31.25 s"},
		{27.94, unitMiB, "27.9 MiB"},
	}
	for _, tc := range tests {
		if got := value(tc.v, tc.unit); got != tc.want {
			t.Errorf("value(%v, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

func TestCommandQuotes(t *testing.T) {
	o := options{args: []string{"-only", "crash", "-o", "markdown", "-sizes", "1 000"}}
	want := `go run ./bench/failover -only crash -o markdown -sizes "1 000"`
	if got := o.command(); got != want {
		t.Errorf("command() = %q, want %q", got, want)
	}
}
