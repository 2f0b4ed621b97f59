package lbfgs

import (
	"errors"
	"math"
	"strings"
	"testing"

	"qnlab/pkg/backend"
)

// rosen is scipy's chained Rosenbrock Σ 100(x_{i+1} − x_i²)² + (1 − x_i)², written here on
// host slices so these tests do not depend on pkg/funcs.
func rosen(x, g []float64) (float64, error) {
	clear(g)
	f := 0.0
	for i := 0; i+1 < len(x); i++ {
		a, b := x[i+1]-x[i]*x[i], 1-x[i]
		f += 100*a*a + b*b
		g[i] += -400*a*x[i] - 2*b
		g[i+1] += 200 * a
	}
	return f, nil
}

func rosenStart(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 1
		if i%2 == 0 {
			x[i] = -1.2
		}
	}
	return x
}

// checkWolfe asserts that every step the search accepted meets the strong Wolfe conditions
// with c1 = 1e-4, c2 = 0.9.
func checkWolfe(t *testing.T, r Result) {
	t.Helper()
	for k := 1; k < len(r.Iterates); k++ {
		it, prev := r.Iterates[k], r.Iterates[k-1]
		if !it.StepOK {
			t.Errorf("iteration %d: the Wolfe search failed (step %g taken as best point)", k, it.Step)
			continue
		}
		if !(it.F <= prev.F+1e-4*it.Step*it.Slope0) {
			t.Errorf("iteration %d: no sufficient decrease: f %g → %g, α=%g, φ'(0)=%g", k, prev.F, it.F, it.Step, it.Slope0)
		}
		if !(math.Abs(it.Slope) <= 0.9*math.Abs(it.Slope0)) {
			t.Errorf("iteration %d: curvature condition fails: |φ'(α)|=%g > 0.9|φ'(0)|=%g", k, math.Abs(it.Slope), 0.9*math.Abs(it.Slope0))
		}
	}
}

// TestRosenbrockWolfe: L-BFGS (m = 10, strong Wolfe; directions on the graph and on the host) reaches ‖g‖∞ ≤ 1e-7 from the standard
// start, every step is a strong Wolfe step, and (n ≤ 100) it needs no more evaluations than
// scipy's L-BFGS-B (m = 10) from the same start: 46, 94, 635.
func TestRosenbrockWolfe(t *testing.T) {
	scipy := map[int]int{2: 46, 10: 94, 100: 635}
	for _, n := range []int{2, 10, 100, 1000} {
		for _, path := range []backend.Path{backend.Graph, backend.Host} {
			r, err := Minimize(ObjectiveFunc(rosen), rosenStart(n), Method{Direction: &LBFGS{Path: path}}, Settings{GradTol: 1e-7})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("n=%d %v: f=%.3g ‖g‖∞=%.3g iterations=%d evaluations=%d rejected=%d %v", n, path, r.F, r.GradNorm, r.Iterations, r.Evaluations, r.Rejected, r.Status)
			if r.Status != GradientThreshold || r.GradNorm > 1e-7 {
				t.Errorf("n=%d %v: stopped with %v at ‖g‖∞ = %g", n, path, r.Status, r.GradNorm)
			}
			if lim, ok := scipy[n]; ok && r.Evaluations > lim {
				t.Errorf("n=%d %v: %d evaluations, scipy's L-BFGS-B needs %d", n, path, r.Evaluations, lim)
			}
			checkWolfe(t, r)
		}
	}
}

// TestGDFixedStepFailsWhereLBFGSSucceeds is the seed paper's point, measured: in the iterations
// L-BFGS needs on 2-D Rosenbrock, gradient descent with a fixed step does not get f below 1e-4.
func TestGDFixedStepFailsWhereLBFGSSucceeds(t *testing.T) {
	lb, err := Minimize(ObjectiveFunc(rosen), rosenStart(2), Method{}, Settings{GradTol: 1e-7})
	if err != nil {
		t.Fatal(err)
	}
	// lr = 1e-3 is stable (2/L ≈ 2/2508 at the minimiser would be 8e-4; larger steps diverge early).
	for _, lr := range []float64{1e-3, 5e-4, 1e-4} {
		gd, err := Minimize(ObjectiveFunc(rosen), rosenStart(2), Method{GradientDescent{}, Fixed{Step: lr}}, Settings{
			MaxIterations: lb.Iterations,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("GD lr=%g after %d iterations: f=%.3g (L-BFGS: %.3g)", lr, gd.Iterations, gd.F, lb.F)
		if !(gd.F > 1e-4) {
			t.Errorf("GD lr=%g reached f=%g ≤ 1e-4 in %d iterations", lr, gd.F, gd.Iterations)
		}
	}
	if !(lb.F <= 1e-4) {
		t.Errorf("L-BFGS f = %g", lb.F)
	}
}

func TestEveryLineSearchConverges(t *testing.T) {
	for _, c := range []struct {
		m  Direction
		ls LineSearch
	}{{&LBFGS{}, Wolfe{}}, {&LBFGS{}, Armijo{}}, {GradientDescent{}, Wolfe{}}, {GradientDescent{}, Armijo{}}} {
		r, err := Minimize(ObjectiveFunc(rosen), rosenStart(2), Method{c.m, c.ls}, Settings{GradTol: 1e-5, MaxIterations: 100000})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v/%v: iterations=%d evaluations=%d f=%.3g", c.m, c.ls, r.Iterations, r.Evaluations, r.F)
		if r.Status != GradientThreshold {
			t.Errorf("%v/%v: %v at ‖g‖∞=%g", c.m, c.ls, r.Status, r.GradNorm)
		}
		for k := 1; k < len(r.Iterates); k++ {
			if r.Iterates[k].F > r.Iterates[k-1].F {
				t.Fatalf("%v/%v: f increased at iteration %d", c.m, c.ls, k)
			}
		}
	}
}

// TestNonFiniteTrialPointsShrinkTheStep: f is NaN (or +Inf) outside a ball; the first trial step
// lands outside. Minimize must still converge, with no non-finite pair in the history.
func TestNonFiniteTrialPointsShrinkTheStep(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		f := ObjectiveFunc(func(x, g []float64) (float64, error) {
			r2, v := 0.0, 0.0
			for i := range x {
				r2 += x[i] * x[i]
				v += float64(i+1) * (x[i] - 1) * (x[i] - 1)
				g[i] = 2 * (float64(i) + 1) * (x[i] - 1)
			}
			if r2 > 100 {
				for i := range g {
					g[i] = bad
				}
				return bad, nil
			}
			return v, nil
		})
		for _, ls := range []LineSearch{Wolfe{}, Armijo{}, Fixed{Step: 50}} {
			r, err := Minimize(f, []float64{0, 0, 0}, Method{LineSearch: ls}, Settings{MaxIterations: 2000})
			if err != nil {
				t.Fatal(err)
			}
			if firstNonFinite(r.X) >= 0 || !finite(r.F) {
				t.Fatalf("%v (%g outside): result not finite: %v", ls, bad, r.X)
			}
			if _, isFixed := ls.(Fixed); !isFixed && r.Status != GradientThreshold {
				t.Errorf("%v (%g outside): %v at ‖g‖∞ = %g", ls, bad, r.Status, r.GradNorm)
			}
		}
	}
}

// TestUphillGradientIsALineSearchFailure: a wrong gradient (the negative of the true one) makes
// every trial step increase f; Minimize must stop with LineSearchFailure at the best point.
func TestUphillGradientIsALineSearchFailure(t *testing.T) {
	f := ObjectiveFunc(func(x, g []float64) (float64, error) {
		v, err := rosen(x, g)
		for i := range g {
			g[i] = -g[i]
		}
		return v, err
	})
	x0 := rosenStart(4)
	f0, _ := rosen(x0, make([]float64, 4))
	for _, ls := range []LineSearch{Wolfe{}, Armijo{}} {
		r, err := Minimize(f, x0, Method{LineSearch: ls}, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != LineSearchFailure || r.F != f0 || firstNonFinite(r.X) >= 0 {
			t.Errorf("%v: status %v f=%g (f0=%g)", ls, r.Status, r.F, f0)
		}
	}
}

func TestMinimizeBadInput(t *testing.T) {
	ok := ObjectiveFunc(rosen)
	nanAt0 := ObjectiveFunc(func(x, g []float64) (float64, error) { return math.NaN(), nil })
	failing := ObjectiveFunc(func(x, g []float64) (float64, error) { return 0, errors.New("boom") })
	cases := []struct {
		f    Objective
		x0   []float64
		m    Method
		s    Settings
		want string
	}{
		{nil, []float64{1}, Method{}, Settings{}, "objective"},
		{ok, nil, Method{}, Settings{}, "x0 is empty"},
		{ok, []float64{1, math.NaN()}, Method{}, Settings{}, "x0[1]"},
		{nanAt0, []float64{1, 2}, Method{}, Settings{}, "not finite"},
		{failing, []float64{1, 2}, Method{}, Settings{}, "boom"},
		{ok, []float64{1, 2}, Method{Direction: &LBFGS{M: -1}}, Settings{}, "negative"},
		{ok, []float64{1, 2}, Method{}, Settings{GradTol: -1}, "negative"},
	}
	for _, c := range cases {
		if _, err := Minimize(c.f, c.x0, c.m, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}
}

// TestWolfeOnMoreThuenteFunctions checks the strong Wolfe search on the 1-D test functions of
// Moré & Thuente (1994), §5, with their parameters, from several initial steps.
func TestWolfeOnMoreThuenteFunctions(t *testing.T) {
	phis := map[string]Phi{
		"φ1 β=2": func(a float64) (float64, float64) { return -a / (a*a + 2), (a*a - 2) / ((a*a + 2) * (a*a + 2)) },
		"φ2 β=0.004": func(a float64) (float64, float64) {
			b := 0.004
			return math.Pow(a+b, 5) - 2*math.Pow(a+b, 4), 5*math.Pow(a+b, 4) - 8*math.Pow(a+b, 3)
		},
		"φ3 β=0.01 l=39": func(a float64) (float64, float64) {
			b, l := 0.01, 39.0
			var p, dp float64
			if a <= 1-b {
				p, dp = 1-a, -1
			} else if a >= 1+b {
				p, dp = a-1, 1
			} else {
				p, dp = (a-1)*(a-1)/(2*b)+b/2, (a-1)/b
			}
			s, c := math.Sin(l*math.Pi/2*a), math.Cos(l*math.Pi/2*a)
			k := 2 * (1 - b) / (l * math.Pi)
			return p + k*s, dp + k*l*math.Pi/2*c
		},
	}
	for name, phi := range phis {
		f0, df0 := phi(0)
		for _, a0 := range []float64{1e-3, 1e-1, 1e1, 1e3} {
			st := Wolfe{C1: 1e-3, C2: 0.1}.Search(phi, f0, df0, a0)
			f, df := phi(st.Alpha)
			if !st.OK || !(f <= f0+1e-3*st.Alpha*df0) || math.Abs(df) > 0.1*math.Abs(df0) {
				t.Errorf("%s α0=%g: α=%g ok=%v after %d evaluations does not meet strong Wolfe (φ=%g, φ'=%g)", name, a0, st.Alpha, st.OK, st.Evals, f, df)
			}
		}
	}
}

func TestRecordX(t *testing.T) {
	r, err := Minimize(ObjectiveFunc(rosen), rosenStart(2), Method{}, Settings{RecordX: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Iterates) != r.Iterations+1 || r.Iterates[0].X[0] != -1.2 || r.Iterates[len(r.Iterates)-1].X[0] != r.X[0] {
		t.Fatalf("trace of %d rows does not start at x0 and end at X", len(r.Iterates))
	}
	for k := 1; k < len(r.Iterates); k++ {
		f, _ := rosen(r.Iterates[k].X, make([]float64, 2))
		if f != r.Iterates[k].F {
			t.Fatalf("row %d: f(X) = %g, recorded F = %g", k, f, r.Iterates[k].F)
		}
	}
	r, _ = Minimize(ObjectiveFunc(rosen), rosenStart(2), Method{}, Settings{})
	if r.Iterates[1].X != nil {
		t.Error("X recorded without RecordX")
	}
}
