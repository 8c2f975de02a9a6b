package awssvc_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
	_ "github.com/mamori/mamori/internal/check/cloudwatchcheck"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// TestTemplates runs every CloudWatch template as the cloudwatch check it
// proposes against the fake (GetMetricData over RPC v2 CBOR, SigV4
// verified): a value inside its thresholds is OK, one beyond its critical
// limit CRITICAL.
func TestTemplates(t *testing.T) {
	f, _ := svctest.Fake(t)
	f.AddRegion("us-east-1")
	cw := awsfake.NewCloudWatch(f)
	k, _ := check.Lookup("cloudwatch")
	for _, tp := range awssvc.Templates {
		t.Run(tp.Service+"/"+tp.Name, func(t *testing.T) {
			p := tp.Proposal("res", "res-1", nil)
			s := k.New()
			fields := fieldset.Of(s)
			set := func(key, v string) {
				for _, fl := range fields {
					if fl.Key == key {
						if err := fl.Set(v); err != nil {
							t.Fatalf("%s=%s: %v", key, v, err)
						}
						return
					}
				}
				t.Fatalf("cloudwatch has no field %s", key)
			}
			dims := map[string]string{}
			for _, kv := range p.Fields {
				switch v := kv.Value.(type) {
				case string:
					set(kv.Key, v)
				case map[string]string:
					dims = v
					for dk, dv := range v {
						set(kv.Key, dk+"="+dv)
					}
				}
			}
			set("endpoint_url", f.URL)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("template %s does not validate: %v", p.Name, errs)
			}
			cases := []struct {
				v    float64
				want check.Status
			}{{okValue(tp), check.OK}}
			if tp.Critical != "" {
				cases = append(cases, struct {
					v    float64
					want check.Status
				}{badValue(tp.Critical), check.Critical})
			}
			for _, c := range cases {
				cw.Set(tp.Namespace, tp.Metric, dims, tp.Statistic, tp.Period, c.v)
				ch, err := s.New(svctest.NewEnv()) // a Hub of its own: no batch answer kept from the last case
				if err != nil {
					t.Fatal(err)
				}
				r := check.Run(context.Background(), k, ch, 0)
				if r.Status != c.want {
					t.Fatalf("value %g: %s %q, want %s", c.v, r.Status, r.Output, c.want)
				}
			}
		})
	}
}

// okValue is inside both ranges: 0 for upper limits, far above for lower
// ones ("50:").
func okValue(tp awssvc.Template) float64 {
	if strings.HasSuffix(tp.Warning, ":") {
		return 99
	}
	return 0
}

// badValue is beyond a critical range: above "N", below "N:".
func badValue(r string) float64 {
	if n, ok := strings.CutSuffix(r, ":"); ok {
		v, _ := strconv.ParseFloat(n, 64)
		return v / 2
	}
	v, _ := strconv.ParseFloat(r, 64)
	return v*2 + 1
}
