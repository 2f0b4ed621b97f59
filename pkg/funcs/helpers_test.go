package funcs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"qnlab/pkg/backend"
)

// objective is the method set lbfgs.Minimize takes; both evaluators must have it.
type objective interface {
	Eval(x, grad []float64) (float64, error)
}

var (
	_ objective = (*Evaluator)(nil)
	_ objective = (*Problem)(nil)
)

// gradCheck compares a gradient g of f at x with central differences (Nocedal & Wright 2006,
// eq. 8.7) with steps h_i = ε^{1/3}·max(1, |x_i|). It returns the worst relative error
// ‖g − d‖∞ / max(1, ‖g‖∞) and whether every component is within
//
//	|g_i − d_i| ≤ tol·max(1, ‖g‖∞) + 10·ε·(|f(x+h_i e_i)| + |f(x−h_i e_i)|)/(2h_i),
//
// the second term being the rounding error of the difference quotient itself (it dominates on
// badly scaled problems such as BrownBadlyScaled, where f(x0) ≈ 1e12).
func gradCheck(f func([]float64) float64, x, g []float64, tol float64) (rel float64, ok bool) {
	scale := 1.0
	for _, v := range g {
		scale = math.Max(scale, math.Abs(v))
	}
	xp := append([]float64(nil), x...)
	ok = true
	worst := 0.0
	for i := range x {
		h := math.Cbrt(epsilon) * math.Max(1, math.Abs(x[i]))
		xp[i] = x[i] + h
		fp := f(xp)
		xp[i] = x[i] - h
		fm := f(xp)
		xp[i] = x[i]
		d := (fp - fm) / (2 * h)
		diff := math.Abs(g[i] - d)
		if !(diff <= tol*scale+10*epsilon*(math.Abs(fp)+math.Abs(fm))/(2*h)) {
			ok = false
		}
		if !(diff <= worst) { // also records NaN
			worst = diff
		}
	}
	return worst / scale, ok
}

// newEvaluator returns f's evaluator on the default backend, on the graph path, or stops the
// test. The graph path, which the tests check against references; TestHostMatchesGraph holds the
// host path to it.
func newEvaluator(t *testing.T, f *Func, err error) *Evaluator {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Evaluator(backend.MustDefault())
	if err == nil {
		err = e.SetPath(backend.Graph)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// value returns x ↦ f(x) through e, failing the test on an error.
func value(t *testing.T, e objective) func([]float64) float64 {
	return func(x []float64) float64 {
		fx, err := e.Eval(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fx
	}
}

// evalGrad returns f(x) and ∇f(x) through e, failing the test on an error.
func evalGrad(t *testing.T, e objective, x []float64) (float64, []float64) {
	t.Helper()
	g := make([]float64, len(x))
	fx, err := e.Eval(x, g)
	if err != nil {
		t.Fatal(err)
	}
	return fx, g
}

// uniform returns n values uniform in [lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*rng.Float64()
	}
	return x
}

// maxRelDiff returns max_i |a_i − b_i| / max(1, ‖b‖∞).
func maxRelDiff(a, b []float64) float64 {
	scale, worst := 1.0, 0.0
	for _, v := range b {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range a {
		if d := math.Abs(a[i] - b[i]); !(d <= worst) {
			worst = d
		}
	}
	return worst / scale
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(1, math.Abs(b))
}

// worstErrors checks an Evaluator at points against a reference and central differences and
// keeps the worst relative gradient errors.
type worstErrors struct{ fd, ref float64 }

// check compares f(x) and ∇f(x) from e with wantF and wantG (written independently: gonum or a
// host formula) to refTol, and ∇f(x) with central differences (gradCheck) to gradTol.
func (w *worstErrors) check(t *testing.T, e *Evaluator, x []float64, wantF float64, wantG []float64) {
	t.Helper()
	name := fmt.Sprintf("%s/%d at %v", e.Func().Name, e.Func().Dim, x)
	fx, g := evalGrad(t, e, x)
	if d := relDiff(fx, wantF); d > refTol {
		t.Errorf("%s: f = %.17g, want %.17g", name, fx, wantF)
	}
	ref := maxRelDiff(g, wantG)
	if ref > refTol {
		t.Errorf("%s: ∇f = %v, want %v (rel %.3g)", name, g, wantG, ref)
	}
	fd, ok := gradCheck(value(t, e), x, g, gradTol)
	if !ok {
		t.Errorf("%s: ∇f = %v fails central differences (rel %.3g)", name, g, fd)
	}
	w.fd, w.ref = math.Max(w.fd, fd), math.Max(w.ref, ref)
}

func (w *worstErrors) log(t *testing.T, reference string) {
	t.Helper()
	t.Logf("worst relative gradient error: central differences %.3g, %s %.3g", w.fd, reference, w.ref)
}

func TestGradCheckCatchesAWrongGradient(t *testing.T) {
	// The checker must be able to fail: a gradient off by 1e-4 in one component, or with a
	// transposed pair of components, is rejected at tol 1e-6.
	f := func(x []float64) float64 { return 100*math.Pow(x[1]-x[0]*x[0], 2) + math.Pow(1-x[0], 2) }
	x := []float64{-1.2, 1}
	g := []float64{-400*x[0]*(x[1]-x[0]*x[0]) - 2*(1-x[0]), 200 * (x[1] - x[0]*x[0])}
	if rel, ok := gradCheck(f, x, g, 1e-6); !ok {
		t.Fatalf("the right gradient fails the check: rel %.3g", rel)
	}
	for _, bad := range [][]float64{{g[0] * (1 + 1e-4), g[1]}, {g[1], g[0]}} {
		if rel, ok := gradCheck(f, x, bad, 1e-6); ok {
			t.Errorf("wrong gradient %v passes the check (rel %.3g, right %v)", bad, rel, g)
		}
	}
}
