package server

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/web"
)

// consoleAuth adapts the auth service to the console's Auth interface.
type consoleAuth struct{ s *auth.Service }

func webUser(u auth.User) web.User {
	return web.User{Name: u.Name, Role: u.Role, Tenant: u.Tenant, Lang: u.Lang, TimeZone: u.TimeZone}
}

func (a consoleAuth) Login(ctx context.Context, in web.LoginInput) (web.LoginOutcome, error) {
	sess, device, err := a.s.LoginFrom(ctx, auth.LoginRequest{Name: in.Name, Password: in.Password, IP: in.IP, Device: in.Device})
	return web.LoginOutcome{Session: sess.ID, Device: device}, err
}

func (a consoleAuth) LoginAttempts(ctx context.Context, user string, limit int) ([]web.LoginAttemptInfo, error) {
	as, err := a.s.LoginAttempts(ctx, user, limit)
	out := make([]web.LoginAttemptInfo, 0, len(as))
	for _, x := range as {
		out = append(out, web.LoginAttemptInfo{Time: x.Time, User: x.User, IP: x.IP, Known: x.Known, Outcome: x.Outcome, Delay: x.Delay})
	}
	return out, err
}

func (a consoleAuth) Logout(ctx context.Context, id string) error { return a.s.Logout(ctx, id) }

func (a consoleAuth) SessionUser(ctx context.Context, id string) (web.User, bool) {
	u, ok := a.s.SessionUser(ctx, id)
	if !ok || u.Disabled {
		return web.User{}, false
	}
	return webUser(u), true
}

func (a consoleAuth) CSRFToken(id string) string      { return a.s.CSRFToken(id) }
func (a consoleAuth) CheckCSRF(id, token string) bool { return a.s.CheckCSRF(id, token) }
func (a consoleAuth) Users(ctx context.Context) ([]web.User, error) {
	us, err := a.s.Users(ctx)
	out := make([]web.User, 0, len(us))
	for _, u := range us {
		out = append(out, webUser(u))
	}
	return out, err
}

// consoleMetrics adapts the time-series store to the console's graphs.
type consoleMetrics struct{ st *metrics.Store }

func (m consoleMetrics) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration, tenant string) (web.Matrix, error) {
	res, err := m.st.QueryRange(ctx, q, start, end, step, tenant)
	if err != nil {
		return nil, err
	}
	mat, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("query %q gave a %s, not a range of series", q, res.Value.Type())
	}
	out := make(web.Matrix, 0, len(mat))
	for _, s := range mat {
		ser := web.Series{Labels: s.Metric.Map()}
		for _, p := range s.Floats {
			ser.Points = append(ser.Points, web.Point{T: p.T, V: p.F})
		}
		out = append(out, ser)
	}
	return out, nil
}
