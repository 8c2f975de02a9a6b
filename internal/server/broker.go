package server

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
)

// brokerSide is the server's link to its broker (broker:): the engine
// hands zone checks to it and it records what the pollers send back. A
// nil *brokerSide (no broker configured) does nothing.
type brokerSide struct {
	nc  *nats.Conn
	srv *broker.Server
	log *slog.Logger
}

func openBroker(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*brokerSide, error) {
	if cfg.Broker.URL == "" {
		return nil, nil
	}
	nc, err := broker.Connect(broker.ConnOptions{URL: cfg.Broker.URL, Creds: cfg.Broker.Creds, CAFile: cfg.Broker.CAFile, Name: "mamori server", Log: log})
	if err != nil {
		return nil, err
	}
	srv, err := broker.NewServer(nc, log, reg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &brokerSide{nc: nc, srv: srv, log: log}, nil
}

// options are the engine options that route zone checks to the broker.
func (b *brokerSide) options() []engine.Option {
	if b == nil {
		return nil
	}
	return []engine.Option{engine.WithRemote(b.srv)}
}

// run records the pollers' results into eng until ctx ends; the returned
// function waits for the consumer to stop. A leader runs it each time it
// takes the lead.
func (b *brokerSide) run(ctx context.Context, eng *engine.Engine, cfg func() *config.Config) (wait func()) {
	if b == nil {
		return func() {}
	}
	b.srv.HostAddress = func(host string) string {
		for _, h := range cfg().Hosts {
			if h.Name == host {
				return h.Address
			}
		}
		return ""
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.srv.Results(ctx, eng); err != nil && ctx.Err() == nil {
			b.log.Error("broker: results consumer stopped", "err", err)
		}
	}()
	return func() { <-done }
}

// close drains and closes the connection (once the server stopped).
func (b *brokerSide) close() {
	if b != nil {
		_ = b.nc.Drain()
	}
}
