package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
)

// brokerSide is the server's link to its broker (broker:): the engine
// hands zone checks to it and it records what the pollers send back. A
// nil *brokerSide (no broker configured) does nothing.
type brokerSide struct {
	nc     *nats.Conn
	srv    *broker.Server
	log    *slog.Logger
	agents http.Handler // the agent API's routes, for agents behind a poller
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

// relayAgents lets the pollers relay their networks' agents to api.
func (b *brokerSide) relayAgents(api *agentapi.API) {
	if b == nil {
		return
	}
	mux := http.NewServeMux()
	api.Routes(mux)
	b.agents = mux
}

// run records the pollers' results into eng and answers the agent
// requests they relay until ctx ends; the returned function waits for
// both to stop. A leader runs it each time it takes the lead (only the
// leader serves agents).
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
	done, relayed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := b.srv.Results(ctx, eng); err != nil && ctx.Err() == nil {
			b.log.Error("broker: results consumer stopped", "err", err)
		}
	}()
	go func() {
		defer close(relayed)
		ar := broker.AgentRelay{Handler: b.agents, Annotate: agentapi.Relayed, Log: b.log}
		if err := broker.ServeAgents(ctx, b.nc, ar); err != nil && ctx.Err() == nil {
			b.log.Error("broker: cannot answer relayed agent requests", "err", err)
		}
	}()
	return func() { <-done; <-relayed }
}

// close drains and closes the connection (once the server stopped).
func (b *brokerSide) close() {
	if b != nil {
		_ = b.nc.Drain()
	}
}
