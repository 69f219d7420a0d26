package drift

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Accumulator counts live rows into the baseline's bins. Its memory is fixed
// by the baseline (features × bins); adding rows allocates nothing. It is not
// safe for concurrent use.
type Accumulator struct {
	features []featureCounts
	scratch  []int // bin per feature of the row being added; -1 = missing
	counts   Counts
}

// Counts are what an Accumulator has seen.
type Counts struct {
	// Lines are the non-blank capture lines read.
	Lines int64 `json:"lines"`
	// MalformedLines could not be decoded as a capture record with an input
	// this package understands. They are skipped.
	MalformedLines int64 `json:"malformedLines"`
	// OversizeLines were longer than MaxLineBytes; they are also counted in
	// MalformedLines.
	OversizeLines int64 `json:"oversizeLines"`
	// Rows are the CSV rows counted into the bins.
	Rows int64 `json:"rows"`
	// MalformedRows had the wrong number of columns or a value that is not
	// a number in a numeric column. They are skipped.
	MalformedRows int64 `json:"malformedRows"`
}

type featureCounts struct {
	base FeatureBaseline
	// expected shares per bin; for a categorical feature the last bin holds
	// values unseen in training (expected share 0).
	expected []float64
	// category → bin, for categorical features.
	index   map[string]int
	bins    []int64
	missing int64
}

// NewAccumulator returns an empty Accumulator for a validated baseline.
func NewAccumulator(b *Baseline) *Accumulator {
	a := &Accumulator{
		features: make([]featureCounts, len(b.Features)),
		scratch:  make([]int, len(b.Features)),
	}
	for i, f := range b.Features {
		fc := featureCounts{base: f}
		switch f.Type {
		case Categorical:
			keys := categoryOrder(f)
			fc.index = make(map[string]int, len(keys))
			fc.expected = make([]float64, len(keys)+1)
			for j, k := range keys {
				fc.index[k] = j
				fc.expected[j] = f.Categories[k]
			}
		default:
			fc.expected = append([]float64(nil), f.Proportions...)
		}
		fc.bins = make([]int64, len(fc.expected))
		a.features[i] = fc
	}
	return a
}

// Counts returns what has been seen so far.
func (a *Accumulator) Counts() Counts { return a.counts }

// AddCSV counts the rows of a CSV payload (one row per line, columns in the
// baseline's feature order, no header). A row that does not fit is counted
// as malformed and skipped; the others still count.
func (a *Accumulator) AddCSV(payload string) {
	for len(payload) > 0 {
		line := payload
		if i := strings.IndexByte(payload, '\n'); i >= 0 {
			line, payload = payload[:i], payload[i+1:]
		} else {
			payload = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		a.addRow(line)
	}
}

// addRow bins one row in two passes so that a bad value leaves no partial
// counts behind.
func (a *Accumulator) addRow(row string) {
	if strings.Count(row, ",")+1 != len(a.features) {
		a.counts.MalformedRows++
		return
	}
	rest := row
	for i := range a.features {
		field := rest
		if j := strings.IndexByte(rest, ','); j >= 0 {
			field, rest = rest[:j], rest[j+1:]
		}
		bin, ok := a.features[i].bin(field)
		if !ok {
			a.counts.MalformedRows++
			return
		}
		a.scratch[i] = bin
	}
	for i, bin := range a.scratch {
		if bin < 0 {
			a.features[i].missing++
		} else {
			a.features[i].bins[bin]++
		}
	}
	a.counts.Rows++
}

// bin returns the bin of a raw field, -1 when the value is missing, and
// false when the value cannot belong to this feature.
func (f *featureCounts) bin(field string) (int, bool) {
	v := strings.TrimSpace(field)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	if isMissing(v) {
		return -1, true
	}
	if f.index != nil {
		if j, ok := f.index[v]; ok {
			return j, true
		}
		// "1.0" and "1" are the same code.
		x, err := strconv.ParseFloat(v, 64)
		if err == nil && x == math.Trunc(x) && math.Abs(x) < 1e15 {
			if j, ok := f.index[strconv.FormatInt(int64(x), 10)]; ok {
				return j, true
			}
		}
		return len(f.expected) - 1, true // unseen in training
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	if math.IsNaN(x) {
		return -1, true
	}
	// bisect_right: the number of edges e with e <= x.
	return sort.Search(len(f.base.Edges), func(i int) bool { return f.base.Edges[i] > x }), true
}

func isMissing(v string) bool {
	switch v {
	case "", "NA", "NaN", "nan", "null", "None":
		return true
	}
	return false
}

// FeatureReport is one feature's drift.
type FeatureReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// PSI is only meaningful when Scored: a feature with no value in the
	// window has no distribution to compare.
	PSI    float64 `json:"psi"`
	Scored bool    `json:"scored"`
	// MissingShare is the share of rows without a value for this feature;
	// BaselineMissingShare is the same share in training.
	MissingShare         float64 `json:"missingShare"`
	BaselineMissingShare float64 `json:"baselineMissingShare"`
	// UnseenShare is, for a categorical feature, the share of values never
	// seen in training.
	UnseenShare float64 `json:"unseenShare,omitempty"`
}

// Report is the drift of everything accumulated.
type Report struct {
	Counts
	Features []FeatureReport `json:"features"`
	// Score is the largest feature PSI: one feature moving a lot is enough
	// to hurt a model, and an average would hide it among stable ones.
	Score  float64 `json:"score"`
	Scored bool    `json:"scored"`
}

// Report computes the drift of the rows counted so far.
func (a *Accumulator) Report() Report {
	r := Report{Counts: a.counts, Features: make([]FeatureReport, len(a.features))}
	actual := make([]float64, 0, 16)
	for i, f := range a.features {
		fr := FeatureReport{Name: f.base.Name, Type: f.base.Type, BaselineMissingShare: f.base.MissingShare}
		present := int64(0)
		for _, n := range f.bins {
			present += n
		}
		if total := present + f.missing; total > 0 {
			fr.MissingShare = float64(f.missing) / float64(total)
		}
		if present > 0 {
			actual = actual[:0]
			for _, n := range f.bins {
				actual = append(actual, float64(n)/float64(present))
			}
			// The shares were validated (sum within sumTolerance), so PSI
			// cannot fail here; sum the terms directly.
			psi := 0.0
			for j := range actual {
				psi += psiTerm(f.expected[j], actual[j])
			}
			fr.PSI, fr.Scored = psi, true
			if f.index != nil {
				fr.UnseenShare = actual[len(actual)-1]
			}
			if !r.Scored || psi > r.Score {
				r.Score = psi
			}
			r.Scored = true
		}
		r.Features[i] = fr
	}
	return r
}
