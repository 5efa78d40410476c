// Command failover is Baton's failover benchmark. It builds the baton
// binary and a reference coordinator, starts a real etcd and real
// coordinator processes on free loopback ports, kills, stops and freezes
// actives with real signals, and prints one table of takeover times with
// the median and worst over N trials:
//
//	go run ./bench/failover              # the full run, several minutes
//	go run ./bench/failover -quick       # one trial of each, about a minute
//	go run ./bench/failover -only crash,etcd-election -trials 20 -o markdown
//
// Progress goes to stderr, the table to stdout. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/batonhq/baton/bench/internal/machine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

// Systems and scenarios, as -only names them.
const (
	sysBaton  = "baton"
	sysMilvus = "milvus-like"
	sysEtcd   = "etcd-election"

	scCrash    = "crash"
	scGraceful = "graceful"
	scFrozen   = "frozen"
	scGap      = "client-gap"
	scCatalog  = "catalog"
)

// scenariosOf lists what each system runs.
var scenariosOf = map[string][]string{
	sysBaton:  {scCrash, scGraceful, scFrozen, scGap, scCatalog},
	sysMilvus: {scCrash, scGap},
	sysEtcd:   {scCrash, scGraceful, scGap},
}

// quickTTL is the lease TTL of the slow (lease-bound) rows in -quick mode.
const quickTTL = 3 * time.Second

// options are the command-line flags.
type options struct {
	trials         int
	baselineTrials int
	sizes          []int
	only           []string
	quick          bool
	format         string
	keep           bool
	args           []string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{args: args}
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.trials, "trials", 10, "trials per Baton row (and per fast baseline row)")
	fs.IntVar(&o.baselineTrials, "baseline-trials", 3,
		"trials per lease-bound baseline row "+
			"(each takes about a TTL: 30 s milvus-like, 10 s etcd-election)")
	sizes := fs.String("sizes", "1000,10000,100000", "catalog sizes, comma-separated")
	only := fs.String("only", "", "comma-separated systems ("+strings.Join(systems(), ", ")+
		"), scenarios ("+strings.Join(scenariosOf[sysBaton], ", ")+") or system/scenario; default all")
	fs.BoolVar(&o.quick, "quick", false, "1 trial per row, size 1000, TTL "+quickTTL.String()+
		" for the lease-bound rows (frozen, milvus-like, etcd-election)")
	fs.StringVar(&o.format, "o", "table", "output: table, markdown or json")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory with every process's log")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains([]string{"table", "markdown", "json"}, o.format) {
		return o, fmt.Errorf("-o %q: use table, markdown or json", o.format)
	}
	if o.trials < 1 || o.baselineTrials < 1 {
		return o, errors.New("-trials and -baseline-trials must be at least 1")
	}
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return o, err
	}
	if o.only, err = parseOnly(*only); err != nil {
		return o, err
	}
	if o.quick {
		o.trials, o.baselineTrials, o.sizes = 1, 1, []int{1000}
	}
	return o, nil
}

func systems() []string { return []string{sysBaton, sysMilvus, sysEtcd} }

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes: %q is not a positive number", f)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

// parseOnly checks every -only name against the systems and scenarios.
func parseOnly(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var names []string
	for _, f := range strings.Split(s, ",") {
		name := strings.TrimSpace(f)
		if !validName(name) {
			return nil, fmt.Errorf("-only: %q names no system, scenario or system/scenario; "+
				"systems: %s; scenarios: %s", name, strings.Join(systems(), ", "),
				strings.Join(scenariosOf[sysBaton], ", "))
		}
		names = append(names, name)
	}
	return names, nil
}

func validName(name string) bool {
	for sys, scs := range scenariosOf {
		if name == sys {
			return true
		}
		for _, sc := range scs {
			if name == sc || name == sys+"/"+sc {
				return true
			}
		}
	}
	return false
}

// wants reports whether -only selects scenario of system.
func (o options) wants(system, scenario string) bool {
	if !slices.Contains(scenariosOf[system], scenario) {
		return false
	}
	if len(o.only) == 0 {
		return true
	}
	for _, n := range o.only {
		if n == system || n == scenario || n == system+"/"+scenario {
			return true
		}
	}
	return false
}

// command returns the command line that reproduces this run.
func (o options) command() string {
	parts := []string{"go", "run", "./bench/failover"}
	for _, a := range o.args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// run runs the benchmark with args and prints the report on stdout. It
// returns an error if a trial failed or a group could not run, after
// printing what it has.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	m := machine.Read()
	h, err := newHarness(ctx, stderr, opt.keep)
	if err != nil {
		return err
	}
	if opt.quick {
		h.maxPhase = quickTTL / 3
	}
	b := &bench{h: h, opt: opt, res: newResults()}
	runErr := b.run(ctx)
	h.close()

	m.LoadEnd = machine.LoadAverage()
	rep := &report{Machine: m, Command: opt.command(), Systems: systemNotes,
		Rows: b.res.rows, Notes: b.res.notes}
	if err := rep.write(stdout, opt.format); err != nil {
		return err
	}
	if runErr == nil && b.failed > 0 {
		runErr = fmt.Errorf("%d trials failed; see the FAILED column and the progress output", b.failed)
	}
	return runErr
}
