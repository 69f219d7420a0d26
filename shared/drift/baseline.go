// Package drift measures how far the inputs an endpoint serves have moved
// from the data its model was trained on.
//
// The training-time reference is a Baseline (baseline.json, written by the
// Glue job next to the prepared data). Live inputs come from SageMaker data
// capture files (JSON Lines, one inference per line, each holding one or more
// CSV rows). An Accumulator bins every live row exactly as the baseline binned
// the training data and reports, per feature, the population stability index
// (PSI) and the share of missing values. Everything streams: memory depends on
// the number of features and bins, never on the number of records.
package drift

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// Feature types in a baseline.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// BaselineVersion is the baseline format this package reads.
const BaselineVersion = 1

// Baseline is the training data's distribution, one entry per model input in
// the model's input order (the order of the columns of a captured CSV row).
type Baseline struct {
	Version  int               `json:"version"`
	Label    string            `json:"label"`
	RowCount int64             `json:"rowCount"`
	Features []FeatureBaseline `json:"features"`
}

// FeatureBaseline is one feature's training distribution.
type FeatureBaseline struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Edges are a numeric feature's interior cut points, ascending. The bin
	// of v is the number of edges e with e <= v (Python's bisect_right).
	Edges []float64 `json:"edges,omitempty"`
	// Proportions has len(Edges)+1 shares summing to 1.
	Proportions []float64 `json:"proportions,omitempty"`
	// Categories maps a categorical feature's encoded value ("0", "1") to
	// its share of the training rows.
	Categories map[string]float64 `json:"categories,omitempty"`
	// MissingShare is the share of training rows without a value.
	MissingShare float64 `json:"missingShare"`
}

// sumTolerance is how far a set of shares may sum from 1: the Glue job
// rounds proportions when it writes them.
const sumTolerance = 1e-3

// ReadBaseline decodes and validates a baseline.json document.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("decode baseline: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return &b, nil
}

// Validate reports the first structural problem that would make drift
// figures meaningless.
func (b *Baseline) Validate() error {
	if b.Version != BaselineVersion {
		return fmt.Errorf("baseline: version %d, want %d", b.Version, BaselineVersion)
	}
	if len(b.Features) == 0 {
		return fmt.Errorf("baseline: no features")
	}
	seen := make(map[string]bool, len(b.Features))
	for i, f := range b.Features {
		if f.Name == "" {
			return fmt.Errorf("baseline: feature %d has no name", i)
		}
		if seen[f.Name] {
			return fmt.Errorf("baseline: feature %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if !validShare(f.MissingShare) {
			return fmt.Errorf("baseline: feature %q: missingShare %v is not in [0, 1]", f.Name, f.MissingShare)
		}
		switch f.Type {
		case Numeric:
			if err := validateNumeric(f); err != nil {
				return fmt.Errorf("baseline: feature %q: %w", f.Name, err)
			}
		case Categorical:
			if err := validateCategorical(f); err != nil {
				return fmt.Errorf("baseline: feature %q: %w", f.Name, err)
			}
		default:
			return fmt.Errorf("baseline: feature %q: unknown type %q", f.Name, f.Type)
		}
	}
	return nil
}

func validShare(p float64) bool { return !math.IsNaN(p) && p >= 0 && p <= 1 }

func validateNumeric(f FeatureBaseline) error {
	if len(f.Proportions) != len(f.Edges)+1 {
		return fmt.Errorf("%d proportions for %d edges, want %d", len(f.Proportions), len(f.Edges), len(f.Edges)+1)
	}
	for i, e := range f.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return fmt.Errorf("edge %d is %v", i, e)
		}
		if i > 0 && e <= f.Edges[i-1] {
			return fmt.Errorf("edges are not strictly ascending at %d", i)
		}
	}
	return validateShares(f.Proportions)
}

func validateCategorical(f FeatureBaseline) error {
	if len(f.Categories) == 0 {
		return fmt.Errorf("no categories")
	}
	shares := make([]float64, 0, len(f.Categories))
	for _, p := range f.Categories {
		shares = append(shares, p)
	}
	return validateShares(shares)
}

func validateShares(ps []float64) error {
	sum := 0.0
	for i, p := range ps {
		if !validShare(p) {
			return fmt.Errorf("share %d is %v, not in [0, 1]", i, p)
		}
		sum += p
	}
	if math.Abs(sum-1) > sumTolerance {
		return fmt.Errorf("shares sum to %v, want 1", sum)
	}
	return nil
}

// categoryOrder returns a categorical feature's keys in a stable order.
func categoryOrder(f FeatureBaseline) []string {
	keys := make([]string, 0, len(f.Categories))
	for k := range f.Categories {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
