package agentapi

import (
	"context"
	"net/http"
	"strconv"
)

// Agents inside a customer network may reach the server through their
// zone's poller (docs/pollers.md, "Agents behind a poller"): the poller
// relays each request over the broker and the server replays it here. A
// relayed request is authenticated exactly as a direct one; in addition
// the host it authenticates (or a push check's host) must be in the zone
// of the poller that relayed it.

type relayKey struct{}

type relayed struct{ zone, poller string }

// Relayed marks r as relayed by poller (its name as it gave it) of zone.
func Relayed(r *http.Request, zone, poller string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), relayKey{}, relayed{zone: zone, poller: poller}))
}

func relayOf(r *http.Request) (relayed, bool) {
	rl, ok := r.Context().Value(relayKey{}).(relayed)
	return rl, ok
}

// via is what a relayed request adds to the agent's contact record.
func via(r *http.Request) string {
	if rl, ok := relayOf(r); ok {
		return " via poller " + rl.poller + " (zone " + rl.zone + ")"
	}
	return ""
}

// zoneRefused answers 403 (and reports true) when r was relayed by a
// poller of another zone than host's; what names the host (or the push
// check) for the reason.
func (a *API) zoneRefused(w http.ResponseWriter, r *http.Request, route, host, what string) bool {
	rl, ok := relayOf(r)
	if !ok {
		return false
	}
	zone := ""
	if h := a.config().Host(host); h != nil {
		zone = h.Zone
	}
	if zone == rl.zone {
		return false
	}
	is := "has no zone"
	if zone != "" {
		is = "is in zone " + strconv.Quote(zone)
	}
	a.reject(w, r, route, host, http.StatusForbidden, "zone",
		what+" "+is+": poller "+strconv.Quote(rl.poller)+" of zone "+strconv.Quote(rl.zone)+" may not relay for it")
	return true
}
