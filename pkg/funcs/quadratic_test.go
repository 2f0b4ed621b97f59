package funcs

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// randomSPD returns MᵀM + I for a random n×n M, and a random b.
func randomSPD(rng *rand.Rand, n int) (*mat.Dense, []float64) {
	m := mat.NewDense(n, n, uniform(rng, n*n, -1, 1))
	var a mat.Dense
	a.Mul(m.T(), m)
	for i := range n {
		a.Set(i, i, a.At(i, i)+1)
	}
	return &a, uniform(rng, n, -1, 1)
}

func TestQuadratic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var w worstErrors
	for _, n := range []int{1, 3, 20} {
		a, b := randomSPD(rng, n)
		f, err := Quadratic(a, b)
		e := newEvaluator(t, f, err)
		// x* solves Ax = b, f* = −½bᵀx*, and ∇f(x*) = Ax* − b = 0 to rounding.
		var r mat.VecDense
		r.MulVec(a, mat.NewVecDense(n, f.Minimizer))
		if res := floats.Distance(r.RawVector().Data, b, math.Inf(1)); res > 1e-13 {
			t.Errorf("n=%d: ‖Ax* − b‖∞ = %g", n, res)
		}
		fx, g := evalGrad(t, e, f.Minimizer)
		if relDiff(fx, f.Min) > 1e-14 || relDiff(f.Min, -0.5*floats.Dot(b, f.Minimizer)) > 1e-15 {
			t.Errorf("n=%d: f(x*) = %.17g, Min = %.17g", n, fx, f.Min)
		}
		if gn := floats.Norm(g, math.Inf(1)); gn > 1e-13 {
			t.Errorf("n=%d: ‖∇f(x*)‖∞ = %g", n, gn)
		}
		for range 3 {
			x := uniform(rng, n, -3, 3)
			var ax mat.VecDense
			ax.MulVec(a, mat.NewVecDense(n, x))
			wantG := make([]float64, n)
			floats.SubTo(wantG, ax.RawVector().Data, b)
			w.check(t, e, x, 0.5*floats.Dot(x, ax.RawVector().Data)-floats.Dot(b, x), wantG)
		}
	}
	w.log(t, "Ax − b")
}

func TestQuadraticKeepsItsOwnCopies(t *testing.T) {
	a := mat.NewSymDense(2, []float64{2, 0, 0, 4})
	b := []float64{2, 4}
	f, err := Quadratic(a, b)
	e := newEvaluator(t, f, err)
	a.SetSym(0, 0, 100)
	b[0] = 100
	if fx, _ := evalGrad(t, e, []float64{1, 1}); fx != -3 { // ½(2 + 4) − (2 + 4)
		t.Errorf("f(1, 1) = %g after the caller changed A and b, want −3", fx)
	}
	if !floats.EqualApprox(f.Minimizer, []float64{1, 1}, 1e-15) {
		t.Errorf("x* = %v, want (1, 1)", f.Minimizer)
	}
}

func TestQuadraticRejects(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		a    mat.Matrix
		b    []float64
		want string
	}{
		{"nil A", nil, nil, "nil"},
		{"not square", mat.NewDense(2, 3, nil), []float64{1, 2}, "2×3"},
		{"b too short", mat.NewDense(2, 2, []float64{1, 0, 0, 1}), []float64{1}, "length 1"},
		{"not symmetric", mat.NewDense(2, 2, []float64{2, 1, 0.5, 2}), []float64{1, 1}, "not symmetric"},
		{"indefinite", mat.NewDense(2, 2, []float64{1, 2, 2, 1}), []float64{1, 1}, "not positive definite"},
		{"negative definite", mat.NewDense(1, 1, []float64{-1}), []float64{1}, "not positive definite"},
		{"singular", mat.NewDense(2, 2, []float64{1, 1, 1, 1}), []float64{1, 1}, "positive definite"},
		{"nearly singular", mat.NewDense(2, 2, []float64{1, 1, 1, 1 + 1e-17}), []float64{1, 1}, "positive definite"},
		{"ill-conditioned", mat.NewDense(2, 2, []float64{1, 0, 0, 1e-17}), []float64{1, 1}, "singular"},
		{"NaN in A", mat.NewDense(2, 2, []float64{1, 0, 0, nan}), []float64{1, 1}, "not finite"},
		{"Inf in b", mat.NewDense(1, 1, []float64{1}), []float64{math.Inf(1)}, "not finite"},
	} {
		f, err := Quadratic(tc.a, tc.b)
		if err == nil || f != nil || !strings.HasPrefix(err.Error(), "funcs: quadratic: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Quadratic = %v, %v: want an error containing %q", tc.name, f, err, tc.want)
		}
	}
	// Asymmetry at rounding level is accepted and symmetrized.
	if _, err := Quadratic(mat.NewDense(2, 2, []float64{2, 1, 1 + 1e-15, 2}), []float64{1, 1}); err != nil {
		t.Errorf("A symmetric to rounding: %v", err)
	}
}
