package drift

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPSI(t *testing.T) {
	tests := []struct {
		name     string
		expected []float64
		actual   []float64
		want     float64
	}{
		{
			name:     "identical distributions give zero",
			expected: []float64{0.1, 0.2, 0.3, 0.4},
			actual:   []float64{0.1, 0.2, 0.3, 0.4},
			want:     0,
		},
		{
			// (0.6−0.5)·ln(0.6/0.5) + (0.4−0.5)·ln(0.4/0.5)
			// = 0.1·0.182322 + (−0.1)·(−0.223144) = 0.018232 + 0.022314 = 0.040547
			name:     "ten points moved from one half to the other",
			expected: []float64{0.5, 0.5},
			actual:   []float64{0.6, 0.4},
			want:     0.040546510810816436,
		},
		{
			// A bin that held 10% and is empty now: its share becomes
			// Epsilon = 0.0001: (0.0001−0.1)·ln(0.0001/0.1)
			// = (−0.0999)·(−6.907755) = 0.690085; the other bin:
			// (1−0.9)·ln(1/0.9) = 0.1·0.105361 = 0.010536. Sum 0.700621.
			name:     "empty actual bin uses epsilon",
			expected: []float64{0.1, 0.9},
			actual:   []float64{0, 1},
			want:     0.6900847523703155 + 0.1*0.10536051565782628,
		},
		{
			name:     "bin empty on both sides contributes nothing",
			expected: []float64{0, 0.5, 0.5},
			actual:   []float64{0, 0.5, 0.5},
			want:     0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PSI(tt.expected, tt.actual)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestPSIRejectsBadInput(t *testing.T) {
	tests := []struct {
		name             string
		expected, actual []float64
	}{
		{name: "different bin counts", expected: []float64{0.5, 0.5}, actual: []float64{1}},
		{name: "no bins", expected: nil, actual: nil},
		{name: "negative share", expected: []float64{1.5, -0.5}, actual: []float64{0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PSI(tt.expected, tt.actual)
			assert.Error(t, err)
		})
	}
}
