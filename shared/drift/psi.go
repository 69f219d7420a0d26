package drift

import (
	"fmt"
	"math"
)

// Epsilon replaces an empty bin's share in the PSI sum.
//
// PSI = Σ (a_i − e_i) · ln(a_i / e_i) is infinite when a bin is empty on one
// side only. Replacing a zero share by Epsilon (without renormalising the
// others, which would shift every term for a rounding gain) keeps the index
// finite and still large: a bin that held 10% of the training rows and is
// empty now contributes (0.0001 − 0.1) · ln(0.0001 / 0.1) ≈ 0.690, well above
// the usual "significant shift" threshold of 0.25. A bin empty on both sides
// contributes exactly 0 (a_i − e_i = 0).
const Epsilon = 1e-4

// PSI returns the population stability index of actual against expected,
// two distributions over the same bins (each summing to 1). Identical
// distributions give 0; by convention below 0.1 is stable, 0.1–0.25 a
// moderate shift and above 0.25 a significant one.
func PSI(expected, actual []float64) (float64, error) {
	if len(expected) != len(actual) {
		return 0, fmt.Errorf("psi: %d expected bins, %d actual bins", len(expected), len(actual))
	}
	if len(expected) == 0 {
		return 0, fmt.Errorf("psi: no bins")
	}
	sum := 0.0
	for i := range expected {
		e, a := expected[i], actual[i]
		if !validShare(e) || !validShare(a) {
			return 0, fmt.Errorf("psi: bin %d: shares %v and %v must be in [0, 1]", i, e, a)
		}
		sum += psiTerm(e, a)
	}
	return sum, nil
}

// psiTerm is one bin's contribution, with the Epsilon rule for empty bins.
func psiTerm(e, a float64) float64 {
	if e == a {
		return 0
	}
	if e == 0 {
		e = Epsilon
	}
	if a == 0 {
		a = Epsilon
	}
	return (a - e) * math.Log(a/e)
}
