package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/rootcoord"
)

// config is one run of the harness.
type config struct {
	clients  []int
	batches  []uint32
	duration time.Duration // measured time per cell
	warmup   time.Duration // unmeasured time per cell, before duration
	baton    string        // a built baton binary; empty: go build one
	command  string        // the command line, as printed in the report
	progress io.Writer     // progress lines; nil discards them
}

// Output formats.
const (
	formatTable    = "table"
	formatMarkdown = "markdown"
	formatJSON     = "json"
)

// maxClients bounds -clients: each client has its own connection.
const maxClients = 1024

func parseFlags(args []string, stderr io.Writer) (config, string, error) {
	fs := flag.NewFlagSet("tso", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clients := fs.String("clients", "1,8,64", "comma-separated numbers of concurrent clients")
	batches := fs.String("batch", "1,100", "comma-separated timestamps per call (count)")
	duration := fs.Duration("duration", 5*time.Second, "measured time per cell")
	warmup := fs.Duration("warmup", time.Second, "unmeasured time per cell before -duration")
	format := fs.String("o", formatTable, "output: table, markdown or json")
	baton := fs.String("baton", "", "baton binary to run (default: go build ./cmd/baton)")
	if err := fs.Parse(args); err != nil {
		return config{}, "", err
	}
	if fs.NArg() > 0 {
		return config{}, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config{
		duration: *duration, warmup: *warmup, baton: *baton,
		command: commandLine(os.Args[0], args), progress: stderr,
	}
	var err error
	if cfg.clients, err = parseList("-clients", *clients, 1, maxClients); err != nil {
		return config{}, "", err
	}
	bs, err := parseList("-batch", *batches, 1, rootcoord.MaxTimestampCount)
	if err != nil {
		return config{}, "", err
	}
	for _, b := range bs {
		cfg.batches = append(cfg.batches, uint32(b))
	}
	return cfg, *format, validate(cfg, *format)
}

func validate(cfg config, format string) error {
	switch {
	case cfg.duration <= 0:
		return fmt.Errorf("-duration %v: want a positive duration such as 5s", cfg.duration)
	case cfg.warmup < 0:
		return fmt.Errorf("-warmup %v: want zero or a positive duration", cfg.warmup)
	}
	switch format {
	case formatTable, formatMarkdown, formatJSON:
		return nil
	}
	return fmt.Errorf("-o %q: want table, markdown or json", format)
}

// parseList parses a comma-separated list of integers in [lo, hi].
func parseList(flagName, raw string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s %q: %q is not an integer from %d to %d",
				flagName, raw, f, lo, hi)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New(flagName + " is empty")
	}
	return out, nil
}

// commandLine renders how the harness was started; a binary that go run
// built in its cache is shown as "go run ./bench/tso".
func commandLine(argv0 string, args []string) string {
	parts := []string{argv0}
	if strings.Contains(filepath.ToSlash(argv0), "/go-build") {
		parts = []string{"go", "run", "./bench/tso"}
	}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"+
		"0123456789-_=.,/:+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
