package httpcheck

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// benchCheck runs checker.Check b.N times against a local net/http server
// answering a small fixed body; conns/op is the server's connections per run.
func benchCheck(b *testing.B, keepalive bool) {
	srv, conns := benchServer(b)
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/"; s.Keepalive = keepalive; s.ExpectBody = "mamori" })
	c, err := s.New(check.Env{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r := c.Check(cctx)
		cancel()
		if r.Status != check.OK {
			b.Fatal(r.Output)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(conns.Load())/float64(b.N), "conns/op")
}

// BenchmarkCheckKeepAlive: one run on a kept-alive connection (client and
// server in this process).
func BenchmarkCheckKeepAlive(b *testing.B) { benchCheck(b, true) }

// BenchmarkCheckFresh: one run on a fresh connection.
func BenchmarkCheckFresh(b *testing.B) { benchCheck(b, false) }
