package firstorder

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
)

// coupled is the 2-D quadratic f(x, y) = x² + 0.5xy + 2y² − x, whose gradient mixes the
// coordinates (so a gradient taken at the wrong point shows).
func coupled() *funcs.Func {
	return &funcs.Func{Name: "coupled", Dim: 2, Start: []float64{1.5, -2},
		Graph: func(x *graph.Node) *graph.Node {
			u := graph.Reshape(graph.Slice(x, graph.AxisElem(0)))
			v := graph.Reshape(graph.Slice(x, graph.AxisElem(1)))
			f := graph.Add(graph.Square(u), graph.MulScalar(graph.Mul(u, v), 0.5))
			f = graph.Add(f, graph.MulScalar(graph.Square(v), 2))
			return graph.Sub(f, u)
		}}
}

func coupledGrad(x []float64) []float64 {
	return []float64{2*x[0] + 0.5*x[1] - 1, 0.5*x[0] + 4*x[1]}
}

// hand applies n updates of m to the coupled quadratic from x0, written directly from the
// package doc's table, elementwise on the host.
func hand(m Method, h Hyper, x0 []float64, n int) [][]float64 {
	d := len(x0)
	th := append([]float64(nil), x0...)
	a, b, c := make([]float64, d), make([]float64, d), make([]float64, d) // state, zero at first
	out := [][]float64{append([]float64(nil), th...)}
	for t := 1; t <= n; t++ {
		var g []float64
		if m == Nesterov {
			look := make([]float64, d)
			for i := range th {
				look[i] = th[i] - h.Momentum*a[i]
			}
			g = coupledGrad(look)
		} else {
			g = coupledGrad(th)
		}
		ft := float64(t)
		for i := range th {
			switch m {
			case GD:
				th[i] -= h.LR * g[i]
			case Momentum, Nesterov:
				a[i] = h.Momentum*a[i] + h.LR*g[i]
				th[i] -= a[i]
			case Adagrad:
				a[i] += g[i] * g[i]
				th[i] -= h.LR * g[i] / math.Sqrt(a[i]+h.Eps)
			case Adadelta:
				a[i] = h.Decay*a[i] + (1-h.Decay)*g[i]*g[i]
				delta := -math.Sqrt(b[i]+h.Eps) / math.Sqrt(a[i]+h.Eps) * g[i]
				b[i] = h.Decay*b[i] + (1-h.Decay)*delta*delta
				th[i] += delta
			case RMSProp:
				a[i] = h.Decay*a[i] + (1-h.Decay)*g[i]*g[i]
				th[i] -= h.LR * g[i] / math.Sqrt(a[i]+h.Eps)
			case Adam, Nadam:
				a[i] = h.Beta1*a[i] + (1-h.Beta1)*g[i]
				b[i] = h.Beta2*b[i] + (1-h.Beta2)*g[i]*g[i]
				mh, vh := a[i]/(1-math.Pow(h.Beta1, ft)), b[i]/(1-math.Pow(h.Beta2, ft))
				if m == Adam {
					th[i] -= h.LR * mh / (math.Sqrt(vh) + h.Eps)
				} else {
					th[i] -= h.LR / (math.Sqrt(vh) + h.Eps) * (h.Beta1*mh + (1-h.Beta1)*g[i]/(1-math.Pow(h.Beta1, ft)))
				}
			case AdaMax:
				a[i] = h.Beta1*a[i] + (1-h.Beta1)*g[i]
				c[i] = math.Max(h.Beta2*c[i], math.Abs(g[i]))
				th[i] -= h.LR / (1 - math.Pow(h.Beta1, ft)) * a[i] / c[i]
			}
		}
		out = append(out, append([]float64(nil), th...))
	}
	return out
}

// testHyper are hyperparameters away from every default, so that a swapped constant shows.
var testHyper = Hyper{LR: 0.07, Momentum: 0.8, Decay: 0.85, Beta1: 0.7, Beta2: 0.95, Eps: 1e-3}

// TestRulesMatchHand: each method's first three updates on a 2-D quadratic equal the table's
// rule computed by hand (TestRulesMatchHand's hand) to 1e-12.
func TestRulesMatchHand(t *testing.T) {
	b := backend.MustDefault()
	f := coupled()
	for _, m := range Methods() {
		tr, err := Run(b, f, m, testHyper, f.Start, 3)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		want := hand(m, testHyper, f.Start, 3)
		for k := range want {
			for i := range want[k] {
				if e := math.Abs(tr.X[k][i] - want[k][i]); e > 1e-12*math.Max(1, math.Abs(want[k][i])) {
					t.Errorf("%s: update %d, θ[%d] = %.17g, hand %.17g (error %.2g)", m, k, i, tr.X[k][i], want[k][i], e)
				}
			}
		}
		// The moves are not trivially small: each update changes θ.
		if d := math.Abs(tr.X[3][0]-tr.X[0][0]) + math.Abs(tr.X[3][1]-tr.X[0][1]); !(d > 1e-3) {
			t.Errorf("%s: θ moved only %g in 3 updates", m, d)
		}
	}
}

// TestWorkedExamples reproduces the lecture's examples 1 and 2 (seed 001, 示例1, 示例2) with gd.
func TestWorkedExamples(t *testing.T) {
	b := backend.MustDefault()
	one, _ := funcs.Sphere(1)
	tr, err := Run(b, one, GD, Hyper{LR: 0.4}, []float64{1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range []float64{1, 0.2, 0.04, 0.008} {
		if math.Abs(tr.X[k][0]-want) > 1e-15 {
			t.Errorf("θ² from 1, α = 0.4: θ%d = %.17g, want %g", k, tr.X[k][0], want)
		}
	}
	two, _ := funcs.Sphere(2)
	tr, err = Run(b, two, GD, Hyper{LR: 0.1}, []float64{2, 3}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k    int
		want [2]float64
		tol  float64
	}{{1, [2]float64{1.6, 2.4}, 1e-15}, {2, [2]float64{1.28, 1.92}, 1e-15},
		// Θk = 0.8ᵏ·(2, 3): Θ100 = (4.07e-10, 6.11e-10); the slide's "Θ99 = (6.36e-10, 9.55e-10)"
		// and "Θ100 = (5.09e-10, 7.64e-10)" are Θ98 and Θ99.
		{99, [2]float64{5.09e-10, 7.64e-10}, 5e-3}, {98, [2]float64{6.36e-10, 9.55e-10}, 5e-3},
		{100, [2]float64{2 * math.Pow(0.8, 100), 3 * math.Pow(0.8, 100)}, 1e-12}} {
		for i := range 2 {
			if e := math.Abs(tr.X[c.k][i]-c.want[i]) / c.want[i]; e > c.tol {
				t.Errorf("θ1² + θ2² from (2, 3), α = 0.1: Θ%d[%d] = %.6g, want %.6g", c.k, i, tr.X[c.k][i], c.want[i])
			}
		}
	}
}

// TestLectureLowersQuad3: every method, with the lecture's hyperparameters, lowers quad3 from
// the lecture's start (−2, −2, −2) within 200 updates.
func TestLectureLowersQuad3(t *testing.T) {
	b := backend.MustDefault()
	f := funcs.Quad3()
	for _, m := range Methods() {
		h, ok := Lecture(m, "quad3")
		if !ok {
			t.Fatalf("%s: no lecture hyperparameters for quad3", m)
		}
		tr, err := Run(b, f, m, h, LectureStart("quad3"), 200)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Diverged || !(tr.F[len(tr.F)-1] < tr.F[0]/2) {
			t.Errorf("%s: f from %g to %g in %d updates (diverged %v)", m, tr.F[0], tr.F[len(tr.F)-1], tr.Updates(), tr.Diverged)
		}
	}
}

// TestAdaMaxZeroGradient: a coordinate whose gradient is always 0 does not move (the rule's limit
// m/u = 0, not 0/0).
func TestAdaMaxZeroGradient(t *testing.T) {
	f, _ := funcs.Sphere(2)
	tr, err := Run(backend.MustDefault(), f, AdaMax, Defaults(AdaMax), []float64{1, 0}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Diverged || tr.X[5][1] != 0 || !(tr.X[5][0] < 1) {
		t.Errorf("adamax from (1, 0): θ5 = %v (diverged %v)", tr.X[5], tr.Diverged)
	}
}

// TestNoNaNClipping: a NaN gradient gives a NaN step (the run reports divergence), for GoMLX's
// optimizers (gd, adam) as for the hand-written ones.
func TestNoNaNClipping(t *testing.T) {
	f := &funcs.Func{Name: "sqrt", Dim: 1, Graph: func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Sqrt(x)) // ∇ = 1/(2√x): NaN for x < 0
	}}
	for _, m := range Methods() {
		tr, err := Run(backend.MustDefault(), f, m, Defaults(m), []float64{-1}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Diverged {
			t.Errorf("%s: a NaN gradient did not stop the run: θ = %v", m, tr.X[len(tr.X)-1])
		}
	}
}

func TestHyperCheck(t *testing.T) {
	for _, c := range []struct {
		m  Method
		h  Hyper
		ok bool
	}{{GD, Hyper{LR: 0.1}, true}, {GD, Hyper{}, false}, {GD, Hyper{LR: math.Inf(1)}, false},
		{Adadelta, Hyper{Decay: 0.9, Eps: 1e-6}, true}, {Adadelta, Hyper{Decay: 1, Eps: 1e-6}, false},
		{Momentum, Hyper{LR: 0.1, Momentum: -0.1}, false}, {Adam, Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: -1}, false},
		{AdaMax, Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: math.NaN()}, true}} { // adamax reads no ε
		if err := c.h.Check(c.m); (err == nil) != c.ok {
			t.Errorf("%s %+v: Check = %v, want ok %v", c.m, c.h, err, c.ok)
		}
	}
	for _, m := range Methods() {
		if err := Defaults(m).Check(m); err != nil {
			t.Errorf("Defaults(%s): %v", m, err)
		}
		for _, fn := range []string{"quad3", "beale"} {
			h, _ := Lecture(m, fn)
			if err := h.Check(m); err != nil {
				t.Errorf("Lecture(%s, %s): %v", m, fn, err)
			}
		}
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			t.Errorf("ParseMethod(%s) = %v, %v", m, got, err)
		}
	}
}

// TestClipped: clipping rescales the gradient to norm Clip (a GD step is then η·Clip long
// exactly); a clipping norm the gradients never reach changes no bit; on the cliff, GD with
// η = 0.1 is thrown far by the wall and with Clip = 1 is not.
func TestClipped(t *testing.T) {
	b := backend.MustDefault()
	f := coupled()
	tr, err := Run(b, f, GD, Hyper{LR: 0.1, Clip: 0.5}, f.Start, 3)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		g := coupledGrad(tr.X[k])
		norm := math.Hypot(g[0], g[1])
		for i := range 2 {
			want := tr.X[k][i] - 0.1*g[i]*math.Min(1, 0.5/norm)
			if math.Abs(tr.X[k+1][i]-want) > 1e-14 {
				t.Errorf("clipped gd update %d, θ[%d] = %.17g, want %.17g", k+1, i, tr.X[k+1][i], want)
			}
		}
	}
	for _, m := range Methods() {
		h := Defaults(m)
		plain, err := Run(b, f, m, h, f.Start, 5)
		if err != nil {
			t.Fatal(err)
		}
		h.Clip = 1e9
		loose, err := Run(b, f, m, h, f.Start, 5)
		if err != nil {
			t.Fatal(err)
		}
		for k := range plain.X {
			for i := range plain.X[k] {
				if math.Float64bits(plain.X[k][i]) != math.Float64bits(loose.X[k][i]) {
					t.Fatalf("%s: clip 1e9 changed update %d: %v vs %v", m, k, loose.X[k], plain.X[k])
				}
			}
		}
	}
	cliff := funcs.Cliff()
	jump := func(h Hyper) float64 {
		tr, err := Run(b, cliff, GD, h, cliff.Start, 10)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for k := 1; k < len(tr.X); k++ {
			worst = math.Max(worst, math.Hypot(tr.X[k][0]-tr.X[k-1][0], tr.X[k][1]-tr.X[k-1][1]))
		}
		return worst
	}
	if j := jump(Hyper{LR: 0.1}); !(j > 10) {
		t.Errorf("cliff, gd η = 0.1: largest step %.3g, want > 10 (thrown by the wall)", j)
	}
	if j := jump(Hyper{LR: 0.1, Clip: 1}); j > 0.1+1e-12 {
		t.Errorf("cliff, gd η = 0.1, clip 1: largest step %.3g, want ≤ 0.1", j)
	}
	if err := (Hyper{LR: 0.1, Clip: -1}).Check(GD); err == nil {
		t.Error("clip -1 accepted")
	}
}
