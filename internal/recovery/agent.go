package recovery

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/wire"
)

// AgentOf adapts the server's agent API to what actions use.
func AgentOf(a *agentapi.API) action.Agent { return agentAdapter{a} }

type agentAdapter struct{ a *agentapi.API }

func (g agentAdapter) Send(ctx context.Context, host string, req wire.Request) (wire.Response, error) {
	return g.a.Send(ctx, host, req)
}

func (g agentAdapter) Seen(host string) (time.Time, bool) { return g.a.Passive().AgentSeen(host) }

// Hello needs agentapi.(*API).LastHello (the time of a host's last hello).
func (g agentAdapter) Hello(host string) time.Time {
	if h, ok := any(g.a).(interface{ LastHello(string) time.Time }); ok {
		return h.LastHello(host)
	}
	return time.Time{}
}
