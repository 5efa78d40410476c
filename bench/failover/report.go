package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/bench/internal/machine"
)

// report is everything printed on stdout.
type report struct {
	Machine machine.Info `json:"machine"`
	Command string       `json:"command"`
	Systems []string     `json:"systems"`
	Rows    []*row       `json:"rows"`
	Notes   []string     `json:"notes,omitempty"`
}

// systemNotes explain the systems in the table.
var systemNotes = []string{
	"baton: defaults (fast detection on, warm standby on), TTL column = common.session.ttl",
	"milvus-like: baton with fastDetection=false, warmStandby=false (takeover waits for the lease)",
	"etcd-election: bench/internal/refcoord, concurrency.NewSession + Election.Campaign, " +
		"Resign on SIGTERM, in-memory TSO",
	"each signal is sent at a random point of the active's lease renewal cycle (TTL/3)",
	"first success: a client polls the standby directly every 2 ms; client gap: pkg/client " +
		"(etcd-election: an equivalent client on the election prefix) calling in a loop",
	"standby RSS is read just before the kill, soon after the standby loaded the catalog: " +
		"it includes the load's garbage, which Go returns after a GC (at the latest its forced " +
		"GC every 2 minutes)",
}

// write prints the report in format: table, markdown or json.
func (r *report) write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r.jsonView())
	case "markdown":
		return r.writeMarkdown(w)
	default:
		return r.writeTable(w)
	}
}

// jsonRow adds the summary figures to a row.
type jsonRow struct {
	*row
	TTLSeconds float64  `json:"ttlSeconds"`
	N          int      `json:"n"`
	Median     *float64 `json:"median"`
	Worst      *float64 `json:"worst"`
}

func (r *report) jsonView() any {
	rows := make([]jsonRow, 0, len(r.Rows))
	for _, rw := range r.Rows {
		rows = append(rows, jsonRow{row: rw, TTLSeconds: rw.TTL.Seconds(), N: len(rw.Values),
			Median: finite(rw.median()), Worst: finite(rw.worst())})
	}
	return struct {
		Machine machine.Info `json:"machine"`
		Command string       `json:"command"`
		Systems []string     `json:"systems"`
		Rows    []jsonRow    `json:"rows"`
		Notes   []string     `json:"notes,omitempty"`
	}{r.Machine, r.Command, r.Systems, rows, r.Notes}
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// header returns the lines above the table; code formats the command.
func (r *report) header(code func(string) string) []string {
	m := r.Machine
	return []string{
		"command: " + code(r.Command),
		fmt.Sprintf("machine: %s, %d cores, %s, %s, kernel %s", m.CPU, m.Cores, m.OS, m.Go, m.Kernel),
		fmt.Sprintf("date: %s; load average at start %s, at end %s", m.Date, m.LoadStart, m.LoadEnd),
	}
}

func (r *report) writeTable(w io.Writer) error {
	for _, l := range r.header(func(s string) string { return s }) {
		fmt.Fprintln(w, "# "+l)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tSCENARIO\tMETRIC\tTTL\tN\tMEDIAN\tWORST\tFAILED")
	for _, rw := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\n", rw.System, rw.Scenario, rw.Metric,
			ttlText(rw.TTL), len(rw.Values), value(rw.median(), rw.Unit), value(rw.worst(), rw.Unit),
			rw.Failed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeNotes(w, "")
	return nil
}

func (r *report) writeMarkdown(w io.Writer) error {
	for _, l := range r.header(func(s string) string { return "`" + s + "`" }) {
		fmt.Fprintln(w, "- "+l)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| system | scenario | metric | TTL | N | median | worst | failed |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|")
	for _, rw := range r.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %s | %d |\n", rw.System, rw.Scenario,
			rw.Metric, ttlText(rw.TTL), len(rw.Values), value(rw.median(), rw.Unit),
			value(rw.worst(), rw.Unit), rw.Failed)
	}
	r.writeNotes(w, "- ")
	return nil
}

func (r *report) writeNotes(w io.Writer, bullet string) {
	fmt.Fprintln(w)
	for _, s := range r.Systems {
		fmt.Fprintln(w, bullet+s)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, bullet+"note: "+n)
	}
}

func ttlText(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

// value formats a figure: milliseconds below 1 s, seconds above.
func value(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case unit == unitMs && v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case unit == unitMs:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	}
}
