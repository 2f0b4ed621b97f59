package precond

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"qnlab/pkg/backend"
)

// readFlat returns a variable's values (readVar, failing the test on an error).
func readFlat(t *testing.T, store *model.Store, path string) []float64 {
	t.Helper()
	f, err := readVar(store, path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestKFACIsNaturalGradientOnLinearLeastSquares: for one linear layer with the squared loss the
// Fisher is exactly A ⊗ I, so K-FAC's step (Exact Fisher, damping √γ = 10⁻¹², no effect at this
// tolerance) equals the natural-gradient step from the dense Fisher (NaturalGradientCheck).
func TestKFACIsNaturalGradientOnLinearLeastSquares(t *testing.T) {
	for _, c := range []struct{ n, in, out int }{{40, 5, 3}, {200, 12, 7}} {
		got, want, err := NaturalGradientCheck(backend.MustDefault(), c.n, c.in, c.out, 7)
		if err != nil {
			t.Fatal(err)
		}
		var diff, norm float64
		for i := range got {
			diff, norm = diff+(got[i]-want[i])*(got[i]-want[i]), norm+want[i]*want[i]
		}
		rel := math.Sqrt(diff / norm)
		t.Logf("n %d, %d → %d: ‖K-FAC step − F⁻¹∇‖ / ‖F⁻¹∇‖ = %.2e", c.n, c.in, c.out, rel)
		if rel > 1e-9 {
			t.Errorf("n %d, %d → %d: K-FAC's step differs from the natural gradient: relative error %.2e > 1e-9", c.n, c.in, c.out, rel)
		}
	}
}
