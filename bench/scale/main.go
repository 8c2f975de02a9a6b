// Command scale measures mamori's distributed path on one machine: a
// `mamori server` with the PostgreSQL store and a broker, and pollers of
// one zone over NATS JetStream, running N tcp checks at one interval
// against loopback listeners of the harness. It reports results persisted
// per second, the CPU of the server and of each poller, PostgreSQL's row
// and transaction rates, the delay from due time to committed state, and
// the share of expected runs that were stored.
//
//	go run ./bench/scale -n 100000 -interval 60s -warmup 90s -duration 3m
//
// Everything it starts is its own: a fresh PostgreSQL database (dropped at
// the end), a nats-server on a free port with its own store (or, without
// the binary, -nats URL with a unique zone), temporary directories. Only
// 127.0.0.1 is used. See bench/README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	n        int
	interval time.Duration
	warmup   time.Duration
	duration time.Duration
	pollers  int
	conc     int
	ports    int
	pgAdmin  string
	natsURL  string
	mamori   string
	jsonOut  string
	keep     bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "number of tcp checks (1..300000)")
	flag.DurationVar(&o.interval, "interval", time.Minute, "check interval (10s..10m)")
	flag.DurationVar(&o.warmup, "warmup", 90*time.Second, "time after the server is up before the window (≥ one interval: the cold start)")
	flag.DurationVar(&o.duration, "duration", 3*time.Minute, "measurement window (30s..30m)")
	flag.IntVar(&o.pollers, "pollers", 2, "pollers of the zone (1..8)")
	flag.IntVar(&o.conc, "poller-concurrency", 64, "each poller's --concurrency")
	flag.IntVar(&o.ports, "ports", 4, "loopback ports the tcp target listens on")
	flag.StringVar(&o.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL (a database is created and dropped)")
	flag.StringVar(&o.natsURL, "nats", "", "use this NATS instead of starting nats-server (a unique zone is used)")
	flag.StringVar(&o.mamori, "mamori", "", "mamori binary (default: go build ./cmd/mamori into the temp dir)")
	flag.StringVar(&o.jsonOut, "json", "", "write the figures as JSON to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (logs, configuration)")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	r, err := run(o)
	if r != nil {
		r.print(os.Stdout)
		if o.jsonOut != "" {
			b, _ := json.MarshalIndent(r, "", "  ")
			if werr := os.WriteFile(o.jsonOut, b, 0o644); werr != nil {
				fmt.Fprintln(os.Stderr, "scale:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale: FAILED:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.n < 1 || o.n > 300000:
		return fmt.Errorf("-n %d: want 1..300000", o.n)
	case o.interval < 10*time.Second || o.interval > 10*time.Minute:
		return fmt.Errorf("-interval %s: want 10s..10m", o.interval)
	case o.warmup < o.interval || o.warmup > 30*time.Minute:
		return fmt.Errorf("-warmup %s: want one interval..30m", o.warmup)
	case o.duration < 30*time.Second || o.duration > 30*time.Minute:
		return fmt.Errorf("-duration %s: want 30s..30m", o.duration)
	case o.pollers < 1 || o.pollers > 8:
		return fmt.Errorf("-pollers %d: want 1..8", o.pollers)
	case o.ports < 1 || o.ports > 64 || o.conc < 1:
		return fmt.Errorf("-ports %d / -poller-concurrency %d: out of range", o.ports, o.conc)
	}
	return nil
}

// interrupted is closed on SIGINT/SIGTERM so that a run stops early and
// still cleans up (processes, database, temp dir).
func interrupted() <-chan struct{} {
	ch := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; close(ch) }()
	return ch
}
