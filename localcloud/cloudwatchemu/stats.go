package cloudwatchemu

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Standard statistics.
const (
	StatSampleCount = "SampleCount"
	StatAverage     = "Average"
	StatSum         = "Sum"
	StatMinimum     = "Minimum"
	StatMaximum     = "Maximum"
)

var percentileRE = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,2})?|100)$`)

// checkStatistic accepts the standard statistics and percentiles pNN(.NN),
// the statistics the local cloud computes.
func checkStatistic(stat string) error {
	switch stat {
	case StatSampleCount, StatAverage, StatSum, StatMinimum, StatMaximum:
		return nil
	}
	if percentileRE.MatchString(stat) {
		return nil
	}
	return fmt.Errorf("statistic %q is not supported by the local cloud (SampleCount, Average, Sum, Minimum, Maximum or pNN.NN)", stat)
}

// point is one period's value of a series.
type point struct {
	start       time.Time
	value       float64
	sampleCount float64
	ok          bool
}

type weighted struct{ v, n float64 }

// aggregate is what one period's datapoints add up to.
type aggregate struct {
	count, sum, min, max float64
	raw                  []weighted
}

func (a *aggregate) add(v, n float64) {
	if a.count == 0 || v < a.min {
		a.min = v
	}
	if a.count == 0 || v > a.max {
		a.max = v
	}
	a.count += n
	a.sum += v * n
	a.raw = append(a.raw, weighted{v, n})
}

func aggregatePoints(points []Datum, unit string) aggregate {
	var a aggregate
	for _, p := range points {
		if unit != "" && p.Unit != unit {
			continue
		}
		switch {
		case p.Stats != nil:
			if p.Stats.SampleCount <= 0 {
				continue
			}
			if a.count == 0 || p.Stats.Minimum < a.min {
				a.min = p.Stats.Minimum
			}
			if a.count == 0 || p.Stats.Maximum > a.max {
				a.max = p.Stats.Maximum
			}
			a.count += p.Stats.SampleCount
			a.sum += p.Stats.Sum
		default:
			for i, v := range p.Values {
				n := 1.0
				if i < len(p.Counts) {
					n = p.Counts[i]
				}
				if n > 0 {
					a.add(v, n)
				}
			}
		}
	}
	return a
}

// value returns the statistic of the aggregate; ok is false for a period
// without samples (a missing datapoint).
func (a aggregate) value(stat string) (float64, bool) {
	if a.count == 0 {
		return 0, false
	}
	switch stat {
	case StatSampleCount:
		return a.count, true
	case StatSum:
		return a.sum, true
	case StatMinimum:
		return a.min, true
	case StatMaximum:
		return a.max, true
	case StatAverage:
		return a.sum / a.count, true
	}
	if m := percentileRE.FindStringSubmatch(stat); m != nil {
		p, _ := strconv.ParseFloat(stat[1:], 64)
		return percentile(a.raw, p)
	}
	return 0, false
}

// percentile is the nearest-rank percentile of weighted values: the
// smallest value with at least p% of the samples at or below it. Samples
// sent as statistic sets carry no values and take no part.
func percentile(raw []weighted, p float64) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	sorted := append([]weighted(nil), raw...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].v < sorted[j].v })
	total := 0.0
	for _, w := range sorted {
		total += w.n
	}
	rank := math.Ceil(p / 100 * total)
	if rank < 1 {
		rank = 1
	}
	seen := 0.0
	for _, w := range sorted {
		seen += w.n
		if seen >= rank {
			return w.v, true
		}
	}
	return sorted[len(sorted)-1].v, true
}

// alignDown returns t truncated to a multiple of period since the epoch
// (CloudWatch's period boundaries).
func alignDown(t time.Time, period time.Duration) time.Time {
	sec := int64(period / time.Second)
	if sec <= 0 {
		return t
	}
	u := t.Unix()
	return time.Unix(u-((u%sec)+sec)%sec, 0).UTC()
}

// statSeries computes stat of metric for each period starting at starts.
func (s *Service) statSeries(m Metric, stat, unit string, period time.Duration, starts []time.Time) []point {
	out := make([]point, len(starts))
	if len(starts) == 0 {
		return out
	}
	from, to := starts[0], starts[0]
	for _, st := range starts {
		if st.Before(from) {
			from = st
		}
		if st.After(to) {
			to = st
		}
	}
	pts := s.points(m, from, to.Add(period))
	for i, st := range starts {
		var in []Datum
		for _, p := range pts {
			if !p.Timestamp.Before(st) && p.Timestamp.Before(st.Add(period)) {
				in = append(in, p)
			}
		}
		a := aggregatePoints(in, unit)
		v, ok := a.value(stat)
		out[i] = point{start: st, value: v, sampleCount: a.count, ok: ok}
	}
	return out
}
