package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

var columns = []string{
	"clients", "batch", "calls/s", "timestamps/s", "p50", "p99", "p99.9", "max", "note",
}

// render writes rep as a table, a Markdown table or JSON.
func render(w io.Writer, rep *report, format string) error {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case formatMarkdown:
		return renderMarkdown(w, rep)
	default:
		return renderTable(w, rep)
	}
}

func renderTable(w io.Writer, rep *report) error {
	for _, l := range header(rep) {
		fmt.Fprintf(w, "%-9s %s\n", l[0]+":", l[1])
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, c := range rep.Cells {
		fmt.Fprintln(tw, strings.Join(row(c), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", footer(rep))
	return err
}

func renderMarkdown(w io.Writer, rep *report) error {
	for _, l := range header(rep) {
		fmt.Fprintf(w, "- %s: %s\n", l[0], l[1])
	}
	fmt.Fprintf(w, "\n| %s |\n", strings.Join(columns, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---:|", len(columns)-1)+"---|")
	for _, c := range rep.Cells {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row(c), " | "))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", footer(rep))
	return err
}

// header is the lines above the table, as label and text.
func header(rep *report) [][2]string {
	m := rep.Machine
	checked, ordered := 0, 0
	for _, c := range rep.Cells {
		checked += c.Checked
		ordered += c.Ordered
	}
	return [][2]string{
		{"command", rep.Command},
		{"machine", fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s, kernel %s, %s",
			m.CPU, m.Cores, m.GOMAXPROCS, m.OS, m.Kernel, m.Go)},
		{"load", m.LoadStart + " (1, 5, 15 min, at start)"},
		{"setup", fmt.Sprintf("AllocTimestamp over gRPC to one `baton run rootcoord` with "+
			"`baton run etcd`, all on 127.0.0.1; one connection per client; "+
			"%v measured per cell after %v of warm-up; started %s",
			rep.Duration, rep.Warmup, rep.Started.Format(time.RFC3339))},
		{"checks", fmt.Sprintf("passed on %s calls (%s checked for real-time order): "+
			"each client's timestamps strictly increase, count as asked and inside one "+
			"millisecond's logical range, no overlap between any two calls, a call sent "+
			"after another was answered gets a larger timestamp",
			thousands(int64(checked)), thousands(int64(ordered)))},
	}
}

func footer(rep *report) string {
	return fmt.Sprintf("TiKV PD reports about %s timestamps/s for one client, with batching "+
		"in its client; the comparable figure here is timestamps/s at batch 100 (batch 1 is "+
		"one RPC per timestamp). The clients, the rootcoord and etcd share this machine's "+
		"%d cores.", thousands(pdTimestampsPerSec), rep.Machine.Cores)
}

func row(c cell) []string {
	return []string{
		strconv.Itoa(c.Clients),
		strconv.FormatUint(uint64(c.Batch), 10),
		thousands(int64(c.CallsPerSec + 0.5)),
		thousands(int64(c.TSPerSec + 0.5)),
		latency(c.P50), latency(c.P99), latency(c.P999), latency(c.Max),
		c.Note,
	}
}

// latency formats d in whole µs below a millisecond, else in ms or s with
// two decimals.
func latency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
}

// thousands formats n with commas: 1234567 -> 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
