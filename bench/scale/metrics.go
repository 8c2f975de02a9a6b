package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// scrape is one read of a /metrics page: every sample without labels, or
// with only le= (histogram buckets), or with outcome=, by its full name.
type scrape map[string]float64

func getMetrics(addr string) (scrape, error) {
	c := http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s/metrics: %s", addr, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (scrape, error) {
	out := scrape{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sum adds every series of a metric whose name and labels start with prefix.
func (s scrape) sum(prefix string) float64 {
	t := 0.0
	for k, v := range s {
		if k == prefix || strings.HasPrefix(k, prefix+"{") {
			t += v
		}
	}
	return t
}

// histogram is a Prometheus histogram's difference between two scrapes.
type histogram struct {
	les    []float64
	counts []float64 // cumulative
	sum    float64
	count  float64
}

func diffHistogram(a, b scrape, name string) histogram {
	var h histogram
	for k, v := range b {
		rest, ok := strings.CutPrefix(k, name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err != nil {
			continue
		}
		h.les = append(h.les, le)
		_ = v
	}
	sort.Float64s(h.les)
	for _, le := range h.les {
		k := name + `_bucket{le="` + strconv.FormatFloat(le, 'g', -1, 64) + `"}`
		if math.IsInf(le, 1) {
			k = name + `_bucket{le="+Inf"}`
		}
		h.counts = append(h.counts, b[k]-a[k])
	}
	h.sum = b[name+"_sum"] - a[name+"_sum"]
	h.count = b[name+"_count"] - a[name+"_count"]
	return h
}

// quantile interpolates inside the buckets as PromQL's histogram_quantile.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 || len(h.les) == 0 {
		return math.NaN()
	}
	rank := q * h.count
	prevLe, prevC := 0.0, 0.0
	for i, le := range h.les {
		c := h.counts[i]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLe // beyond the last finite bucket
			}
			if c == prevC {
				return le
			}
			return prevLe + (le-prevLe)*(rank-prevC)/(c-prevC)
		}
		prevLe, prevC = le, c
	}
	return prevLe
}

// within is the share of observations at or under le (a bucket bound).
func (h histogram) within(le float64) float64 {
	for i, b := range h.les {
		if b == le && h.count > 0 {
			return h.counts[i] / h.count
		}
	}
	return math.NaN()
}
