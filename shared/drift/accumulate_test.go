package drift

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccumulatorReport(t *testing.T) {
	// Baseline (testdata/baseline.json): tenure_months edges [10, 20],
	// proportions [0.25, 0.5, 0.25]; plan categories 0: 0.5, 1: 0.3, 2: 0.2.
	tests := []struct {
		name        string
		rows        string
		wantTenure  float64
		wantPlan    float64
		wantMissing [2]float64
		wantUnseen  float64
		wantScore   float64
	}{
		{
			// 20 rows: tenure 5 in bin 0, 10 in bin 1, 5 in bin 2 (shares
			// 0.25, 0.5, 0.25); plan 10× "0", 6× "1", 4× "2" (0.5, 0.3, 0.2).
			name: "same distribution as training gives zero",
			rows: strings.Repeat("5,0\n", 5) + strings.Repeat("15,0\n", 5) + strings.Repeat("15,1\n", 5) +
				"25,1\n" + strings.Repeat("25,2\n", 4),
		},
		{
			// tenure: 5 and 9.99 fall in bin 0; 10 falls in bin 1 (10 <= 10,
			// bisect_right); 25 in bin 2. Actual [0.5, 0.25, 0.25] vs
			// expected [0.25, 0.5, 0.25]:
			// (0.5−0.25)·ln(2) + (0.25−0.5)·ln(0.5) + 0 = 2·0.25·0.693147 = 0.346574.
			// plan: 0, 0, 1 and 3 (unseen). Actual [0.5, 0.25, 0, 0.25]
			// against expected [0.5, 0.3, 0.2, 0] (unseen bin):
			// 0 + (0.25−0.3)·ln(0.25/0.3) = 0.009116
			//   + (ε−0.2)·ln(ε/0.2)       = 1.519420 (ε = 0.0001)
			//   + (0.25−ε)·ln(0.25/ε)     = 1.955229  → 3.483766.
			name:       "documented shift with a boundary value and an unseen category",
			rows:       "5,0\n9.99,0\n10,1\n25,3",
			wantTenure: 0.34657359027997264,
			wantPlan:   3.4837655776151477,
			wantUnseen: 0.25,
			wantScore:  3.4837655776151477,
		},
		{
			// Missing values count in the missing share, not in the bins:
			// tenure has 2 of 4 missing; the two present values (5, 25)
			// give actual [0.5, 0, 0.5]:
			// (0.5−0.25)·ln(2) + (ε−0.5)·ln(ε/0.5) + (0.5−0.25)·ln(2)
			// = 0.173287 + 4.257936 + 0.173287 = 4.604510.
			name:        "missing values",
			rows:        "5,0\n,0\nNaN,1\n25,\"2\"",
			wantTenure:  0.25*0.6931471805599453*2 + (1e-4-0.5)*-8.517193191416238,
			wantPlan:    (0.25-0.3)*-0.1823215567939546 + (0.25-0.2)*0.22314355131420976,
			wantMissing: [2]float64{0.5, 0},
			wantScore:   0.25*0.6931471805599453*2 + (1e-4-0.5)*-8.517193191416238,
		},
		{
			name:       "integral floats match category codes",
			rows:       "5,0.0\n15,1.0\n15,2\n25,0",
			wantTenure: 0,
			// plan actual [0.5, 0.25, 0.25] vs [0.5, 0.3, 0.2]:
			// (0.25−0.3)·ln(0.25/0.3) + (0.25−0.2)·ln(0.25/0.2) = 0.009116 + 0.011157
			wantPlan:  (0.25-0.3)*-0.1823215567939546 + (0.25-0.2)*0.22314355131420976,
			wantScore: (0.25-0.3)*-0.1823215567939546 + (0.25-0.2)*0.22314355131420976,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := NewAccumulator(loadBaseline(t))
			acc.AddCSV(tt.rows)
			r := acc.Report()
			require.Len(t, r.Features, 2)
			require.True(t, r.Scored)
			assert.InDelta(t, tt.wantTenure, r.Features[0].PSI, 1e-9, "tenure PSI")
			assert.InDelta(t, tt.wantPlan, r.Features[1].PSI, 1e-9, "plan PSI")
			assert.InDelta(t, tt.wantMissing[0], r.Features[0].MissingShare, 1e-12)
			assert.InDelta(t, tt.wantMissing[1], r.Features[1].MissingShare, 1e-12)
			assert.InDelta(t, tt.wantUnseen, r.Features[1].UnseenShare, 1e-12)
			assert.InDelta(t, tt.wantScore, r.Score, 1e-9)
		})
	}
}

func TestAccumulatorWithoutRows(t *testing.T) {
	acc := NewAccumulator(loadBaseline(t))
	acc.AddCSV("\n\n")
	r := acc.Report()
	assert.False(t, r.Scored)
	assert.Zero(t, r.Rows)
	for _, f := range r.Features {
		assert.False(t, f.Scored, f.Name)
	}
}

func TestAccumulatorFeatureWithOnlyMissingValues(t *testing.T) {
	acc := NewAccumulator(loadBaseline(t))
	acc.AddCSV(",0\n,1")
	r := acc.Report()
	assert.False(t, r.Features[0].Scored)
	assert.Equal(t, 1.0, r.Features[0].MissingShare)
	assert.True(t, r.Features[1].Scored)
	assert.True(t, r.Scored)
}
