package directions

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/nb"
	"qnlab/pkg/qn"
)

// quadratic returns a random SPD quadratic ½xᵀAx − bᵀx (qn.Generate), its evaluator (graph,
// autodiff) and its minimiser A⁻¹b.
func quadratic(t *testing.T, n int, kappa float64, seed uint64) (*funcs.Evaluator, *mat.SymDense, []float64) {
	t.Helper()
	q, err := qn.Generate(n, 1, kappa, qn.LogUniform, seed)
	if err != nil {
		t.Fatal(err)
	}
	f, err := funcs.Quadratic(q.A(), q.B().RawVector().Data)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	return e, q.A(), f.Minimizer
}

// relErr is ‖a − b‖/‖b‖ (nb.RelErr).
var relErr = nb.RelErr

// TestNewtonQuadraticOneStep: on a random SPD quadratic (n = 8, κ = 1e3), pure Newton with the
// autodiff Hessian lands on the minimiser in one step.
func TestNewtonQuadraticOneStep(t *testing.T) {
	e, _, xStar := quadratic(t, 8, 1e3, 1)
	x0 := make([]float64, 8)
	for i := range x0 {
		x0[i] = float64(i) - 3
	}
	res, err := lbfgs.Minimize(e, x0, lbfgs.Method{Direction: &Newton{Hessian: e.Hessian}, LineSearch: lbfgs.Fixed{Step: 1}},
		lbfgs.Settings{MaxIterations: 1, RecordX: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := relErr(res.Iterates[1].X, xStar); d > 1e-12 {
		t.Errorf("one Newton step: relative error %.3g, want ≤ 1e-12", d)
	}
}

// TestNewtonQuadraticConvergence: pure Newton on Rosenbrock from (1.2, 1.3): the error
// e_k = ‖x_k − (1, 1)‖ obeys e_{k+1} ≤ C·e_k² with one constant (measured: at most 3.6; the
// test allows 5) until it reaches rounding (1e-12), within 6 steps.
func TestNewtonQuadraticConvergence(t *testing.T) {
	f, _ := funcs.Rosenbrock(2)
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	res, err := lbfgs.Minimize(e, []float64{1.2, 1.3}, lbfgs.Method{Direction: &Newton{Hessian: e.Hessian}, LineSearch: lbfgs.Fixed{Step: 1}},
		lbfgs.Settings{GradTol: 1e-14, MaxIterations: 8, RecordX: true})
	if err != nil {
		t.Fatal(err)
	}
	var errs []float64
	for _, it := range res.Iterates {
		errs = append(errs, math.Hypot(it.X[0]-1, it.X[1]-1))
	}
	t.Logf("errors: %.3g", errs)
	for k := 0; k+1 < len(errs) && errs[k] > 1e-7; k++ {
		if c := errs[k+1] / (errs[k] * errs[k]); c > 5 {
			t.Errorf("step %d: e_{k+1}/e_k² = %.3g (e_k = %.3g, e_{k+1} = %.3g), want ≤ 5", k, c, errs[k], errs[k+1])
		}
	}
	if last := errs[len(errs)-1]; !(last < 1e-12) || len(errs) > 7 {
		t.Errorf("Newton ended at error %.3g after %d steps", last, len(errs)-1)
	}
}

// TestCGQuadraticTermination: nonlinear CG with every β formula and the exact line search is
// linear CG on a quadratic: n = 20, κ = 10, the minimiser to 1e-10 (relative) in ≤ n steps. (In
// float64 the n-step termination fades as κ grows: measured 23–25 steps at κ = 100 and 29–32 at
// κ = 1000 for the same n, seeds 1–3; notebook 06 shows it.)
func TestCGQuadraticTermination(t *testing.T) {
	const n = 20
	e, _, xStar := quadratic(t, n, 10, 2)
	for _, beta := range []Beta{FletcherReeves, PolakRibiere, HestenesStiefel} {
		res, err := lbfgs.Minimize(e, make([]float64, n), lbfgs.Method{Direction: &CG{Beta: beta, Restart: 1000}, LineSearch: lbfgs.Exact{}},
			lbfgs.Settings{GradTol: 1e-300, MaxIterations: n, RecordX: true})
		if err != nil {
			t.Fatal(err)
		}
		k := -1
		for i, it := range res.Iterates {
			if relErr(it.X, xStar) <= 1e-10 {
				k = i
				break
			}
		}
		t.Logf("CG-%s: relative error ≤ 1e-10 after %d iterations", beta, k)
		if k < 0 || k > n {
			t.Errorf("CG-%s: not within 1e-10 in %d iterations (last error %.3g)", beta, n, relErr(res.X, xStar))
		}
	}
	// Steepest descent with the same exact steps is far from it after n steps.
	res, err := lbfgs.Minimize(e, make([]float64, n), lbfgs.Method{Direction: lbfgs.GradientDescent{}, LineSearch: lbfgs.Exact{}},
		lbfgs.Settings{GradTol: 1e-300, MaxIterations: n})
	if err != nil {
		t.Fatal(err)
	}
	if d := relErr(res.X, xStar); d < 1e-3 {
		t.Errorf("steepest descent reached relative error %.3g in %d exact steps: the comparison is void", d, n)
	}
}

// TestBFGSQuadraticInverse: BFGS with exact line searches on a quadratic reaches the minimiser in
// n steps, and after those n updates its H is A⁻¹ (the quadratic termination of quasi-Newton
// methods with exact line searches; Nocedal & Wright 2006 §6.1, Fletcher 1987 Thm. 3.4.1).
func TestBFGSQuadraticInverse(t *testing.T) {
	const n = 6
	e, A, xStar := quadratic(t, n, 50, 3)
	dir := &BFGS{}
	res, err := lbfgs.Minimize(e, make([]float64, n), lbfgs.Method{Direction: dir, LineSearch: lbfgs.Exact{}},
		lbfgs.Settings{GradTol: 1e-300, MaxIterations: n})
	if err != nil {
		t.Fatal(err)
	}
	if d := relErr(res.X, xStar); d > 1e-9 || res.Iterations != n {
		t.Errorf("BFGS: relative error %.3g after %d iterations", d, res.Iterations)
	}
	var HA mat.Dense
	HA.Mul(dir.H, A)
	worst := 0.0
	for i := range n {
		for j := range n {
			want := 0.0
			if i == j {
				want = 1
			}
			worst = math.Max(worst, math.Abs(HA.At(i, j)-want))
		}
	}
	if worst > 1e-6 {
		t.Errorf("BFGS: ‖H·A − I‖max = %.3g after %d iterations", worst, res.Iterations)
	}
}

// TestDampedLimits: α = 0 is Newton; a huge α gives −∇f/α (the lecture: the direction "converges
// to the plain gradient divided by α").
func TestDampedLimits(t *testing.T) {
	f, _ := funcs.Rosenbrock(3)
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.3, -0.2, 0.8}
	g := make([]float64, 3)
	if _, err := e.Eval(x, g); err != nil {
		t.Fatal(err)
	}
	newton, err := (&Newton{Hessian: e.Hessian}).Next(x, g)
	if err != nil {
		t.Fatal(err)
	}
	d0 := &Damped{Hessian: e.Hessian}
	if err := d0.Init(x, g); err != nil {
		t.Fatal(err)
	}
	p0, err := d0.Next(x, g)
	if err != nil {
		t.Fatal(err)
	}
	if relErr(p0, newton) > 1e-12 {
		t.Errorf("damped, α = 0: %v, Newton %v", p0, newton)
	}
	const alpha = 1e9
	big := &Damped{Hessian: e.Hessian, Alpha: alpha}
	_ = big.Init(x, g)
	p, err := big.Next(x, g)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 3)
	for i := range g {
		want[i] = -g[i] / alpha
	}
	if d := relErr(p, want); d > 1e-6 {
		t.Errorf("damped, α = %g: relative distance to −∇f/α %.3g", alpha, d)
	}
}

// TestModifiedDescends: where the Hessian is indefinite (the saddle function at (0.1, 0.3):
// eigenvalues 2 and −0.73), the modified and saddle-free directions descend and Newton's climbs;
// where it is positive definite ((0.1, 1.2)), all three are Newton's.
func TestModifiedDescends(t *testing.T) {
	f := funcs.Saddle()
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x          []float64
		indefinite bool
	}{{[]float64{0.1, 0.3}, true}, {[]float64{0.1, 1.2}, false}} {
		g := make([]float64, 2)
		if _, err := e.Eval(c.x, g); err != nil {
			t.Fatal(err)
		}
		newton, _ := (&Newton{Hessian: e.Hessian}).Next(c.x, g)
		for _, m := range []*Modified{{Hessian: e.Hessian}, {Hessian: e.Hessian, Abs: true}} {
			p, err := m.Next(c.x, g)
			if err != nil {
				t.Fatal(err)
			}
			if !(dot(p, g) < 0) {
				t.Errorf("%v at %v: gᵀp = %g, not a descent direction", m, c.x, dot(p, g))
			}
			if !c.indefinite && relErr(p, newton) > 1e-10 {
				t.Errorf("%v at %v (H positive definite): %v, Newton %v", m, c.x, p, newton)
			}
		}
		if c.indefinite && dot(newton, g) < 0 {
			t.Errorf("Newton at %v descends (gᵀp = %g): the case does not show the point", c.x, dot(newton, g))
		}
	}
}

// TestSaddle: from (0.5, 0.1) on x² + y⁴/4 − y²/2, pure Newton converges to the saddle (0, 0)
// and saddle-free Newton (strong Wolfe) to the minimum (0, 1); gradient descent too.
func TestSaddle(t *testing.T) {
	f := funcs.Saddle()
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	run := func(m lbfgs.Method) []float64 {
		res, err := lbfgs.Minimize(e, f.Start, m, lbfgs.Settings{GradTol: 1e-10, MaxIterations: 1000})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %v after %d iterations (%v)", m, res.X, res.Iterations, res.Status)
		return res.X
	}
	if x := run(lbfgs.Method{Direction: &Newton{Hessian: e.Hessian}, LineSearch: lbfgs.Fixed{Step: 1}}); math.Hypot(x[0], x[1]) > 1e-9 {
		t.Errorf("pure Newton ended at %v, want the saddle (0, 0)", x)
	}
	for _, m := range []lbfgs.Method{
		{Direction: &Modified{Hessian: e.Hessian, Abs: true}, LineSearch: lbfgs.Wolfe{}},
		{Direction: lbfgs.GradientDescent{}, LineSearch: lbfgs.Wolfe{}},
	} {
		if x := run(m); math.Hypot(x[0], math.Abs(x[1])-1) > 1e-6 {
			t.Errorf("%v ended at %v, want a minimum (0, ±1)", m, x)
		}
	}
}
