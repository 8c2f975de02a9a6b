package cloudwatchcheck

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// BenchmarkThousandChecksPerInterval runs 1,000 cloudwatch checks of one
// account at a 5-minute period; each iteration is one interval (the clock
// moves 5 minutes, every check runs once). It reports GetMetricData calls
// per interval (goal ≤ 3) and the time per check.
func BenchmarkThousandChecksPerInterval(b *testing.B) {
	_, cw, env, _ := setup(b)
	const n = 1000
	checkers := make([]check.Checker, n)
	for i := range checkers {
		id := fmt.Sprintf("i-%017x", i)
		cw.Set("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": id}, "Average", 5*time.Minute, float64(i%100))
		c, err := spec(id, "80", "90").New(env)
		if err != nil {
			b.Fatal(err)
		}
		checkers[i] = c
	}
	clock := time.Now()
	timeNow = func() time.Time { return clock }
	defer func() { timeNow = time.Now }()
	ctx := context.Background()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		clock = clock.Add(5 * time.Minute)
		for _, c := range checkers {
			if r := c.Check(ctx); r.Status == check.Unknown {
				b.Fatal(r.Output)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(cw.Batches()))/float64(b.N), "GetMetricData/interval")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/check")
}
