package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// setup is what a run started.
type setup struct {
	dir     string
	bin     string
	db      *pgDB
	nats    *proc
	natsURL string
	zone    string
	addr    string // server's listen address
	server  *proc
	pollers []*proc
	pAddrs  []string // pollers' metrics addresses
}

func (s *setup) close(keep bool) {
	for _, p := range s.pollers {
		p.stop(20 * time.Second)
	}
	s.server.stop(30 * time.Second)
	s.nats.stop(10 * time.Second)
	if s.db != nil {
		if err := s.db.drop(); err != nil {
			fmt.Fprintln(os.Stderr, "scale: drop database:", err)
		}
	}
	if keep {
		fmt.Fprintln(os.Stderr, "scale: kept", s.dir)
	} else {
		os.RemoveAll(s.dir)
	}
}

func run(o options) (*report, error) {
	ctx := context.Background()
	stop := interrupted()
	s := &setup{}
	var err error
	if s.dir, err = os.MkdirTemp("", "mamori-scale-"); err != nil {
		return nil, err
	}
	defer s.close(o.keep)
	ports, closeTarget, err := target(o.ports)
	if err != nil {
		return nil, err
	}
	defer closeTarget()
	if err := s.startAll(ctx, o, ports); err != nil {
		return nil, err
	}
	logf("server up at %s; %d pollers; warm-up %s", s.addr, o.pollers, o.warmup)
	if err := s.wait(ctx, o.warmup, stop); err != nil {
		return nil, err
	}
	a, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	logf("window of %s starts", o.duration)
	if err := s.wait(ctx, o.duration, stop); err != nil {
		return nil, err
	}
	b, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	grace := min(o.interval/2, 20*time.Second)
	logf("window ends; %s grace for runs that started in it", grace)
	time.Sleep(grace)
	return s.report(ctx, o, a, b)
}

func (s *setup) startAll(ctx context.Context, o options, ports []int) error {
	var err error
	if s.bin = o.mamori; s.bin == "" {
		if s.bin, err = buildMamori(s.dir); err != nil {
			return err
		}
	}
	if s.db, err = createDB(ctx, o.pgAdmin); err != nil {
		return err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s.zone = "scale" + hex.EncodeToString(b)
	if s.natsURL = o.natsURL; s.natsURL == "" {
		if err := s.startNATS(); err != nil {
			return err
		}
	}
	if err := s.startServer(o, ports); err != nil {
		return err
	}
	for i := range o.pollers {
		port, err := freePort()
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		name := fmt.Sprintf("poller%d", i+1)
		p, err := start(s.dir, name, nil, s.bin, "poller", "--broker", s.natsURL, "--zone", s.zone, "--name", name,
			"--state-dir", filepath.Join(s.dir, name), "--listen", addr, "--concurrency", fmt.Sprint(o.conc), "--log-level", "warn")
		if err != nil {
			return err
		}
		s.pollers, s.pAddrs = append(s.pollers, p), append(s.pAddrs, addr)
	}
	return nil
}

func buildMamori(dir string) (string, error) {
	out := filepath.Join(dir, "mamori")
	logf("building mamori (go build ./cmd/mamori)")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/mamori")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mamori (run from the repository root, or give -mamori): %w", err)
	}
	return out, nil
}

func (s *setup) startNATS() error {
	bin := ""
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("nats-server"); err == nil {
			bin = p
		} else {
			return fmt.Errorf("nats-server not found: install it or give -nats URL")
		}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	if s.nats, err = start(s.dir, "nats", nil, bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(s.dir, "js")); err != nil {
		return err
	}
	s.natsURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	return waitPort(fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second)
}

func (s *setup) startServer(o options, ports []int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\ndatabase: %s\nbroker: %s\nchecks:\n", s.addr, filepath.Join(s.dir, "data"), s.db.url, s.natsURL)
	for i := range o.n {
		fmt.Fprintf(&b, "  - {name: scale-%06d, type: tcp, host: 127.0.0.1, port: %d, interval: %s, zone: %s}\n", i, ports[i%len(ports)], o.interval, s.zone)
	}
	cfg := filepath.Join(s.dir, "mamori.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return err
	}
	if s.server, err = start(s.dir, "server", nil, s.bin, "server", "--config", cfg); err != nil {
		return err
	}
	logf("server starting with %d checks (%s)", o.n, s.db.name)
	return waitPort(s.addr, 10*time.Minute)
}

// wait sleeps d, printing progress, and fails if a process died.
func (s *setup) wait(ctx context.Context, d time.Duration, stop <-chan struct{}) error {
	end := time.Now().Add(d)
	prev, _ := s.db.stats(ctx)
	for time.Now().Before(end) {
		select {
		case <-stop:
			return fmt.Errorf("interrupted")
		case <-time.After(min(15*time.Second, time.Until(end))):
		}
		for _, p := range append([]*proc{s.server, s.nats}, s.pollers...) {
			if p != nil && !p.alive() {
				return fmt.Errorf("%s exited (see %s.log in %s; -keep keeps it)", p.name, p.name, s.dir)
			}
		}
		cur, err := s.db.stats(ctx)
		if err == nil {
			dt := cur.At.Sub(prev.At).Seconds()
			logf("%.0f results/s stored, %.0f commits/s, load %s", float64(cur.ResultsIns-prev.ResultsIns)/dt,
				float64(cur.Commits-prev.Commits)/dt, readMachine().load)
			prev = cur
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}
