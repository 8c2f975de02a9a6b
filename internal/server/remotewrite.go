package server

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/metrics/remotewrite"
)

// remoteWriters opens a writer (and its queue) per remote_write receiver.
// hook goes to the time-series store; run starts the senders and returns
// a function that waits for them to stop once ctx is done. Receivers are
// read at start: a change takes effect at the next restart.
func remoteWriters(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (hook func([]metrics.Appended), run func(context.Context) func(), err error) {
	m := remotewrite.NewMetrics()
	reg.MustRegister(m.Collectors()...)
	var ws []*remotewrite.Writer
	for _, r := range cfg.RemoteWrite {
		t := remotewrite.Target{Name: r.Name, URL: r.URL, Include: r.MetricsRegexp(), MaxQueue: r.MaxQueueBytes, Auth: remoteAuth(r)}
		if len(r.Tenants) > 0 {
			t.Tenants = map[string]bool{}
			for _, tn := range r.Tenants {
				t.Tenants[tn] = true
			}
		}
		w, err := remotewrite.New(t, filepath.Join(cfg.DataDir, "remote_write", r.Name), nil, log, m)
		if err != nil {
			return nil, nil, err
		}
		ws = append(ws, w)
	}
	if len(ws) > 0 {
		hook = func(s []metrics.Appended) {
			for _, w := range ws {
				w.Observe(s)
			}
		}
	}
	run = func(ctx context.Context) func() {
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
		}
		return wg.Wait
	}
	return hook, run, nil
}

func remoteAuth(r config.RemoteWrite) func(*http.Request) {
	switch {
	case r.BearerToken.Reveal() != "":
		tok := r.BearerToken.Reveal()
		return func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+tok) }
	case r.Username != "":
		cred := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password.Reveal()))
		return func(req *http.Request) { req.Header.Set("Authorization", "Basic "+cred) }
	}
	return nil
}
