package engine

import (
	"bufio"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/state"
)

// Each check's state at scrape time, so that a Prometheus and Alertmanager
// shop can alert on mamori's checks:
//
//	mamori_check_state{check,host,type,tenant}                    0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	mamori_check_hard_state{check,host,type,tenant}               1 when the state is hard
//	mamori_check_last_duration_seconds{check,host,type,tenant}    run time of the last result
//	mamori_check_last_run_timestamp_seconds{check,host,type,tenant}
//
// A check that has not run yet has no series. They are not in the
// registry: WriteCheckMetrics streams them, because a registry's Gather
// builds every series in memory at once — four per check, about 300 MB
// for 100,000 checks at every scrape.
var checkFamilies = []struct {
	name, help string
	value      func(v *View) float64
}{
	{"mamori_check_state", "Current status of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
		func(v *View) float64 { return float64(v.Status.ExitCode()) }},
	{"mamori_check_hard_state", "1 when the check's current state is hard (confirmed), 0 while soft.",
		func(v *View) float64 { return boolValue(v.Type == state.Hard) }},
	{"mamori_check_last_duration_seconds", "Run time of the check's last result.",
		func(v *View) float64 { return v.Duration.Seconds() }},
	{"mamori_check_last_run_timestamp_seconds", "Unix time of the check's last result.",
		func(v *View) float64 { return float64(v.LastCheck.UnixMilli()) / 1000 }},
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// labelValue escapes a label value for the text exposition format.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// WriteCheckMetrics writes the checks' series in the Prometheus text
// exposition format (version 0.0.4), one family after the other.
func (e *Engine) WriteCheckMetrics(w io.Writer) error {
	views := e.Snapshot()
	ran := views[:0]
	for _, v := range views {
		if !v.Pending() {
			ran = append(ran, v)
		}
	}
	if len(ran) == 0 {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	line := make([]byte, 0, 256)
	for _, f := range checkFamilies {
		bw.WriteString("# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n")
		for i := range ran {
			v := &ran[i]
			line = append(line[:0], f.name...)
			line = appendLabel(line, `{check="`, v.Name)
			line = appendLabel(line, `",host="`, v.Host)
			line = appendLabel(line, `",type="`, v.CheckType)
			line = appendLabel(line, `",tenant="`, v.Tenant)
			line = append(line, `"} `...)
			line = strconv.AppendFloat(line, f.value(v), 'g', -1, 64)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func appendLabel(b []byte, prefix, value string) []byte {
	b = append(b, prefix...)
	if strings.ContainsAny(value, "\\\"\n") {
		value = labelValue.Replace(value)
	}
	return append(b, value...)
}

// buildInfo is mamori_build_info, as Prometheus' own prometheus_build_info.
func buildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mamori_build_info",
		Help: "A metric with a constant '1' value labeled by version, revision, branch and goversion from which mamori was built.",
		ConstLabels: prometheus.Labels{
			"version": buildinfo.Short(), "revision": buildinfo.Revision, "branch": buildinfo.Branch,
			"goversion": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		},
	}, func() float64 { return 1 })
}
