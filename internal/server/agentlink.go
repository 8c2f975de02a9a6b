package server

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/wire"
)

// agentLink adapts the server's agent API to what recovery actions use.
type agentLink struct{ a *agentapi.API }

var _ action.Agent = agentLink{}

func (g agentLink) Send(ctx context.Context, host string, req wire.Request) (wire.Response, error) {
	return g.a.Send(ctx, host, req)
}

func (g agentLink) Seen(host string) (time.Time, bool) { return g.a.Passive().AgentSeen(host) }

// Hello is the time of a host's last hello.
func (g agentLink) Hello(host string) time.Time { return g.a.LastHello(host) }

// Actions lists the host's allowlist names from its agent's last hello.
func (g agentLink) Actions(host string) ([]string, bool) { return g.a.AgentActions(host) }
