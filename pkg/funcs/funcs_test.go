package funcs

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/optimize/functions"
)

const (
	gradTol = 1e-6  // central differences vs autodiff, relative (see gradCheck)
	refTol  = 1e-13 // autodiff vs gonum's hand-written gradient, relative
)

// checkAtMinimizer checks f(x*) = Min and ∇f(x*) = 0.
func checkAtMinimizer(t *testing.T, e *Evaluator) {
	t.Helper()
	f := e.Func()
	fx, g := evalGrad(t, e, f.Minimizer)
	if math.Abs(fx-f.Min) > 1e-14 {
		t.Errorf("%s/%d: f(x*) = %g, want Min = %g", f.Name, f.Dim, fx, f.Min)
	}
	for i, v := range g {
		if math.Abs(v) > 1e-12 {
			t.Errorf("%s/%d: ∂f/∂x_%d(x*) = %g, want 0", f.Name, f.Dim, i, v)
		}
	}
}

// TestRosenbrockAgainstGonum compares with gonum's ExtendedRosenbrock, which is the same chained
// sum Σ 100(x_{i+1} − x_i²)² + (1 − x_i)² (not MGH's paired problem 21), so for every n ≥ 2.
func TestRosenbrockAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w worstErrors
	for _, n := range []int{2, 3, 5, 10} {
		f, err := Rosenbrock(n)
		e := newEvaluator(t, f, err)
		checkAtMinimizer(t, e)
		for range 5 {
			x := uniform(rng, n, -2, 2)
			want := make([]float64, n)
			functions.ExtendedRosenbrock{}.Grad(want, x)
			w.check(t, e, x, functions.ExtendedRosenbrock{}.Func(x), want)
		}
	}
	w.log(t, "gonum")
}

func TestRosenbrockStart(t *testing.T) {
	// f(−1.2, 1) = (2.2)² + 100(1 − 1.44)² = 4.84 + 19.36.
	f, err := Rosenbrock(2)
	e := newEvaluator(t, f, err)
	if fx, _ := evalGrad(t, e, f.Start); math.Abs(fx-24.2) > 1e-12 {
		t.Errorf("f(Start) = %.17g, want 24.2", fx)
	}
	f5, err := Rosenbrock(5)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range f5.Start {
		if want := []float64{-1.2, 1}[i%2]; v != want {
			t.Errorf("Start[%d] = %g, want %g", i, v, want)
		}
	}
}

func TestBealeAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	f, err := Beale()
	e := newEvaluator(t, f, err)
	checkAtMinimizer(t, e)
	var w worstErrors
	points := [][]float64{f.Start, {1, 4}}
	for range 3 {
		points = append(points, uniform(rng, 2, -4.5, 4.5))
	}
	for _, x := range points {
		want := make([]float64, 2)
		functions.Beale{}.Grad(want, x)
		w.check(t, e, x, functions.Beale{}.Func(x), want)
	}
	w.log(t, "gonum")
}

func TestRastrigin(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var w worstErrors
	for _, n := range []int{1, 2, 7} {
		f, err := Rastrigin(n)
		e := newEvaluator(t, f, err)
		checkAtMinimizer(t, e)
		for range 5 {
			x := uniform(rng, n, -5.12, 5.12)
			// f and ∇f written out on the host: ∂f/∂x_i = 2x_i + 2πA sin(2πx_i).
			want, wantG := RastriginA*float64(n), make([]float64, n)
			for i, v := range x {
				want += v*v - RastriginA*math.Cos(2*math.Pi*v)
				wantG[i] = 2*v + 2*math.Pi*RastriginA*math.Sin(2*math.Pi*v)
			}
			w.check(t, e, x, want, wantG)
		}
	}
	w.log(t, "host formula")
}

func TestRastriginLocalMinimumNearStart(t *testing.T) {
	// Start is in the basin of a local, non-global minimizer near (2, …, 2): gradient descent
	// with step 1/L (L = 2 + 4π²A bounds f'') decreases f monotonically and stops there, at a
	// point with ∇f = 0 and f > 0.
	f, err := Rastrigin(3)
	e := newEvaluator(t, f, err)
	x := append([]float64(nil), f.Start...)
	step := 1 / (2 + 4*math.Pi*math.Pi*RastriginA)
	prev := math.Inf(1)
	var fx float64
	var g []float64
	for k := range 200 {
		fx, g = evalGrad(t, e, x)
		if fx > prev+1e-12*math.Abs(prev) { // rising beyond rounding
			t.Fatalf("iteration %d: f rose from %g to %g", k, prev, fx)
		}
		prev = fx
		for i := range x {
			x[i] -= step * g[i]
		}
	}
	for i, v := range x {
		if math.Abs(v-2) > 0.1 || math.Abs(g[i]) > 1e-9 {
			t.Errorf("x_%d = %g with ∂f = %g: want a stationary point near 2", i, v, g[i])
		}
	}
	if fx < 3 {
		t.Errorf("f = %g at the local minimizer %v: want well above f* = 0", fx, x)
	}
}

// TestLectureFunctions: quad3 = x² + 0.1y² + 2z² and the sphere Σθᵢ² against their closed forms
// (value and gradient) at random points, at their minimizers and at the lecture's starts.
func TestLectureFunctions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	q := newEvaluator(t, Quad3(), nil)
	five, err := Sphere(5)
	s := newEvaluator(t, five, err)
	checkAtMinimizer(t, q)
	checkAtMinimizer(t, s)
	if f, _ := evalGrad(t, q, Quad3().Start); f != 12.4 {
		t.Errorf("quad3(−2, −2, −2) = %g, want 12.4", f)
	}
	for range 20 {
		x := uniform(rng, 3, -3, 3)
		f, g := evalGrad(t, q, x)
		want := x[0]*x[0] + 0.1*x[1]*x[1] + 2*x[2]*x[2]
		wantG := []float64{2 * x[0], 0.2 * x[1], 4 * x[2]}
		if relDiff(f, want) > 1e-14 || maxRelDiff(g, wantG) > 1e-14 {
			t.Errorf("quad3(%v) = %g, %v; want %g, %v", x, f, g, want, wantG)
		}
		y := uniform(rng, 5, -3, 3)
		f, g = evalGrad(t, s, y)
		want = 0
		for i := range y {
			want += y[i] * y[i]
			if math.Abs(g[i]-2*y[i]) > 1e-14 {
				t.Errorf("∂sphere/∂θ%d(%v) = %g, want %g", i, y, g[i], 2*y[i])
			}
		}
		if relDiff(f, want) > 1e-14 {
			t.Errorf("sphere(%v) = %g, want %g", y, f, want)
		}
	}
	if two, _ := Sphere(2); two.Start[0] != 2 || two.Start[1] != 3 {
		t.Errorf("Sphere(2).Start = %v, want the lecture's (2, 3)", two.Start)
	}
}

func TestConstructorsRejectBadDims(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (*Func, error)
	}{
		{"Rosenbrock(1)", func() (*Func, error) { return Rosenbrock(1) }},
		{"Rosenbrock(0)", func() (*Func, error) { return Rosenbrock(0) }},
		{"Rastrigin(0)", func() (*Func, error) { return Rastrigin(0) }},
		{"Rastrigin(-3)", func() (*Func, error) { return Rastrigin(-3) }},
		{"Sphere(0)", func() (*Func, error) { return Sphere(0) }},
		{"ByName(quad3, 2)", func() (*Func, error) { return ByName("quad3", 2) }},
	} {
		if f, err := tc.make(); err == nil || f != nil || !strings.HasPrefix(err.Error(), "funcs: ") {
			t.Errorf("%s = %v, %v: want nil and a funcs: error", tc.name, f, err)
		}
	}
}

func TestByName(t *testing.T) {
	for _, tc := range []struct {
		name string
		dim  int
	}{{"rosenbrock", 2}, {"rosenbrock", 7}, {"Rastrigin", 1}, {" beale ", 2}} {
		f, err := ByName(tc.name, tc.dim)
		if err != nil {
			t.Errorf("ByName(%q, %d): %v", tc.name, tc.dim, err)
			continue
		}
		if f.Name != strings.ToLower(strings.TrimSpace(tc.name)) || f.Dim != tc.dim ||
			len(f.Start) != tc.dim || len(f.Minimizer) != tc.dim {
			t.Errorf("ByName(%q, %d) = %s with Dim %d, |Start| %d, |x*| %d", tc.name, tc.dim, f.Name, f.Dim, len(f.Start), len(f.Minimizer))
		}
	}
	for _, tc := range []struct {
		name string
		dim  int
	}{{"rosenbrok", 2}, {"", 2}, {"quadratic", 2}, {"rosenbrock", 1}, {"rastrigin", 0}, {"beale", 3}} {
		f, err := ByName(tc.name, tc.dim)
		if err == nil {
			t.Errorf("ByName(%q, %d) = %v, want an error", tc.name, tc.dim, f)
			continue
		}
		for _, n := range Names() {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("ByName(%q, %d) error %q does not list %q", tc.name, tc.dim, err, n)
			}
		}
	}
	if got := strings.Join(Names(), ","); got != "rosenbrock,rastrigin,beale,quad3,sphere,saddle,cliff,logistic2-mse,logistic2-ce" {
		t.Errorf("Names() = %s", got)
	}
}
