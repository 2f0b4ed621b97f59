package funcs

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/optimize/functions"
)

func TestMGHTable(t *testing.T) {
	ps := MGH()
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, p := range ps {
		if p.F == nil || p.Dim < 1 || len(p.X0) != p.Dim {
			t.Errorf("%s: F %v, Dim %d, |X0| %d", p, p.F, p.Dim, len(p.X0))
		}
		if seen[p.String()] {
			t.Errorf("%s listed twice", p)
		}
		seen[p.String()] = true
		names[p.Name] = true
		if p.MGH < 0 || p.MGH > 35 {
			t.Errorf("%s: MGH number %d", p, p.MGH)
		}
	}
	for _, name := range []string{"Beale", "BiggsEXP2", "BiggsEXP3", "BiggsEXP4", "BiggsEXP5", "BiggsEXP6",
		"Box3D", "BrownBadlyScaled", "BrownAndDennis", "ExtendedPowellSingular", "ExtendedRosenbrock",
		"Gaussian", "GulfResearchAndDevelopment", "HelicalValley", "PenaltyI", "PenaltyII",
		"PowellBadlyScaled", "Trigonometric", "VariablyDimensioned", "Watson", "Wood"} {
		if !names[name] {
			t.Errorf("MGH() lacks %s", name)
		}
	}
	// Every call returns fresh problems: counters and starts are not shared.
	a, b := MGH(), MGH()
	a[0].X0[0] = 1234
	if _, err := a[0].Eval(a[0].X0, nil); err != nil {
		t.Fatal(err)
	}
	if b[0].X0[0] == 1234 || b[0].Evals() != 0 {
		t.Errorf("two MGH() calls share state: X0 %v, Evals %d", b[0].X0, b[0].Evals())
	}
}

// TestMGHStartValues checks f(X0) against values worked out by hand from the MGH definitions,
// which pins the starting points (and the gonum functions) of these problems.
func TestMGHStartValues(t *testing.T) {
	want := map[string]float64{
		"ExtendedRosenbrock/2":     2.2*2.2 + 100*0.44*0.44,
		"ExtendedRosenbrock/4":     2*24.2 + 100*2.2*2.2,              // chained: the middle term is (1 − 1)² + 100(−1.2 − 1)²
		"Beale/2":                  1.5*1.5 + 2.25*2.25 + 2.625*2.625, // x(1 − yᵏ) = 0 at (1, 1)
		"Wood/4":                   100*100 + 16 + 90*100 + 16 + 10*16,
		"ExtendedPowellSingular/4": 49 + 5 + 1 + 10*16,
		"ExtendedPowellSingular/8": 2 * (49 + 5 + 1 + 10*16),
		"HelicalValley/3":          2500, // θ = 1/2: (10(0 − 10θ))²
		"BrownBadlyScaled/2":       (1-1e6)*(1-1e6) + (1-2e-6)*(1-2e-6) + 1,
		"PowellBadlyScaled/2":      1 + math.Pow(1+math.Exp(-1)-1.0001, 2), // (10⁴·0·1 − 1)² + (e⁰ + e⁻¹ − 1.0001)²
		"PenaltyI/4":               1e-5*(0+1+4+9) + (30-0.25)*(30-0.25),
		"VariablyDimensioned/2":    1.25 + math.Pow(-2.5, 2) + math.Pow(-2.5, 4), // x0 = (½, 0): Σ j(x_j − 1) = −2.5
	}
	// Trigonometric/5 at x_j = 1/5: f_i = n − Σ cos x_j + i(1 − cos x_i) − sin x_i.
	tr := 0.0
	for i := 1; i <= 5; i++ {
		r := 5 - 5*math.Cos(0.2) + float64(i)*(1-math.Cos(0.2)) - math.Sin(0.2)
		tr += r * r
	}
	want["Trigonometric/5"] = tr
	found := 0
	for _, p := range MGH() {
		w, ok := want[p.String()]
		if !ok {
			continue
		}
		found++
		fx, err := p.Eval(p.X0, nil)
		if err != nil || relDiff(fx, w) > 1e-14 {
			t.Errorf("%s: f(X0 = %v) = %.17g, %v; want %.17g", p, p.X0, fx, err, w)
		}
	}
	if found != len(want) {
		t.Errorf("checked %d of %d start values: a problem is missing", found, len(want))
	}
}

// TestMGHGradients checks gonum's Grad against central differences of its Func at every start
// and at three random points near it.
func TestMGHGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	type result struct {
		name string
		rel  float64
	}
	var atStart []result
	for _, p := range MGH() {
		for k := range 4 {
			x := append([]float64(nil), p.X0...)
			if k > 0 {
				for i := range x {
					x[i] += 0.1 * rng.NormFloat64() * math.Max(1, math.Abs(x[i]))
				}
			}
			fx, g := evalGrad(t, p, x)
			if math.IsNaN(fx) || math.IsInf(fx, 0) {
				t.Errorf("%s: f(%v) = %g", p, x, fx)
				continue
			}
			rel, ok := gradCheck(value(t, p), x, g, gradTol)
			if !ok {
				t.Errorf("%s at %v: gonum's gradient %v fails central differences (rel %.3g)", p, x, g, rel)
			}
			if k == 0 {
				atStart = append(atStart, result{p.String(), rel})
			}
		}
	}
	slices.SortFunc(atStart, func(a, b result) int { return cmp.Compare(b.rel, a.rel) })
	t.Logf("worst relative gradient errors at the starts: %v", atStart[:4])
}

func TestProblemEval(t *testing.T) {
	var p *Problem
	for _, q := range MGH() {
		if q.Name == "HelicalValley" {
			p = q
		}
	}
	if p == nil {
		t.Fatal("no HelicalValley")
	}
	g := make([]float64, 3)
	fx, err := p.Eval(p.X0, g)
	want := make([]float64, 3)
	functions.HelicalValley{}.Grad(want, p.X0)
	if err != nil || fx != (functions.HelicalValley{}).Func(p.X0) || maxRelDiff(g, want) != 0 {
		t.Errorf("Eval(X0) = %g, %v, grad %v; gonum gives %g, %v", fx, err, g, (functions.HelicalValley{}).Func(p.X0), want)
	}
	for _, tc := range []struct {
		x, grad []float64
		want    string
	}{
		{[]float64{1, 1}, nil, "x has length 2"},
		{[]float64{1, 1, 1}, make([]float64, 4), "grad has length 4"},
		{[]float64{0, 1, 1}, make([]float64, 3), "not defined"}, // gonum panics at x_1 = 0
	} {
		if _, err := p.Eval(tc.x, tc.grad); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "funcs: HelicalValley/3") {
			t.Errorf("Eval(%v, len %d) error = %v, want %q", tc.x, len(tc.grad), err, tc.want)
		}
	}
	// The call that panicked counts as an evaluation; the rejected lengths do not.
	if n := p.Evals(); n != 2 {
		t.Errorf("Evals() = %d, want 2", n)
	}
}
