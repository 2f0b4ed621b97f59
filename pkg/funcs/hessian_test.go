package funcs

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHessianByAutodiff: the Hessian from HVPs equals central differences of the autodiff
// gradient (step 1e-5: error O(h²) ≈ 1e-8 relative) on Rosenbrock, Beale and Rastrigin, and
// quad3's exactly.
func TestHessianByAutodiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	rosen, err := Rosenbrock(5)
	if err != nil {
		t.Fatal(err)
	}
	beale, _ := Beale()
	rast, _ := Rastrigin(3)
	for _, f := range []*Func{rosen, beale, rast} {
		e := newEvaluator(t, f, nil)
		for range 3 {
			x := uniform(rng, f.Dim, -1.5, 1.5)
			H, err := e.Hessian(x)
			if err != nil {
				t.Fatal(err)
			}
			const h = 1e-5
			worst, scale := 0.0, 0.0
			gp, gm := make([]float64, f.Dim), make([]float64, f.Dim)
			for j := range f.Dim {
				xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
				xp[j] += h
				xm[j] -= h
				if _, err := e.Eval(xp, gp); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Eval(xm, gm); err != nil {
					t.Fatal(err)
				}
				for i := range f.Dim {
					fd := (gp[i] - gm[i]) / (2 * h)
					worst = math.Max(worst, math.Abs(H.At(i, j)-fd))
					scale = math.Max(scale, math.Abs(fd))
				}
			}
			if worst > 1e-6*math.Max(scale, 1) {
				t.Errorf("%s at %v: Hessian vs central differences: worst error %.3g (scale %.3g)", f.Name, x, worst, scale)
			}
		}
	}
	q := newEvaluator(t, Quad3(), nil)
	H, err := q.Hessian([]float64{0.3, -1, 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []float64{2, 0.2, 4} {
		for j := range 3 {
			want := 0.0
			if i == j {
				want = d
			}
			if math.Abs(H.At(i, j)-want) > 1e-15 {
				t.Errorf("quad3 Hessian[%d][%d] = %g, want %g", i, j, H.At(i, j), want)
			}
		}
	}
	if q.HVPs() != 3 {
		t.Errorf("quad3: %d HVPs for a 3×3 Hessian, want 3", q.HVPs())
	}
	if err := q.HVP([]float64{1}, []float64{1}, []float64{0}); err == nil {
		t.Error("HVP with wrong lengths: no error")
	}
}
