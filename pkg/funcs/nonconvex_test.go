package funcs

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
)

// eval32 compiles f and ∇f in float32 and returns them as a function of float64 slices (x is
// rounded to float32 on the way in).
func eval32(t *testing.T, f *Func) func(x []float64) (float64, []float64) {
	t.Helper()
	exec, err := graph.NewExec(backend.MustDefault(), func(x *graph.Node) (*graph.Node, *graph.Node) {
		y := f.Graph(x)
		return y, graph.Gradient(y, x)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(x []float64) (float64, []float64) {
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x32, len(x)))
		if err != nil {
			t.Fatalf("%s in float32 at %v: %v", f.Name, x, err)
		}
		fx := float64(tensors.MustCopyFlatData[float32](out[0])[0])
		g := make([]float64, len(x))
		for i, v := range tensors.MustCopyFlatData[float32](out[1]) {
			g[i] = float64(v)
		}
		return fx, g
	}
}

// check32 compares f's float32 value and gradient at x with the float64 reference (wantF,
// wantG) evaluated at x rounded to float32, to tol relative to max(1, |·|).
func check32(t *testing.T, name string, e32 func([]float64) (float64, []float64), x []float64, ref func([]float64) (float64, []float64), tol float64) {
	t.Helper()
	xr := make([]float64, len(x))
	for i, v := range x {
		xr[i] = float64(float32(v))
	}
	fx, g := e32(xr)
	wantF, wantG := ref(xr)
	if d := relDiff(fx, wantF); !(d <= tol) {
		t.Errorf("%s float32 at %v: f = %g, want %g (rel %.3g)", name, xr, fx, wantF, d)
	}
	if d := maxRelDiff(g, wantG); !(d <= tol) {
		t.Errorf("%s float32 at %v: ∇f = %v, want %v (rel %.3g)", name, xr, g, wantG, d)
	}
}

// hessianFD returns the Hessian of a 2-D f at x by central differences of its autodiff
// gradient, symmetrized, and its eigenvalues (smallest first).
func hessianFD(t *testing.T, e *Evaluator, x []float64) (h [2][2]float64, lo, hi float64) {
	t.Helper()
	const step = 1e-5
	for j := range 2 {
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		xp[j] += step
		xm[j] -= step
		_, gp := evalGrad(t, e, xp)
		_, gm := evalGrad(t, e, xm)
		for i := range 2 {
			h[i][j] = (gp[i] - gm[i]) / (2 * step)
		}
	}
	h[0][1] = (h[0][1] + h[1][0]) / 2
	h[1][0] = h[0][1]
	mid := (h[0][0] + h[1][1]) / 2
	rad := math.Hypot((h[0][0]-h[1][1])/2, h[0][1])
	return h, mid - rad, mid + rad
}

// saddleRef is the saddle's value and gradient written out on the host.
func saddleRef(x []float64) (float64, []float64) {
	u, v := x[0], x[1]
	return u*u + v*v*v*v/4 - v*v/2, []float64{2 * u, v*v*v - v}
}

func TestSaddle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	f := Saddle()
	e := newEvaluator(t, f, nil)
	e32 := eval32(t, f)
	checkAtMinimizer(t, e)
	var w worstErrors
	for range 20 {
		x := uniform(rng, 2, -3, 3)
		wantF, wantG := saddleRef(x)
		w.check(t, e, x, wantF, wantG)
		check32(t, "saddle", e32, x, saddleRef, 1e-5)
	}
	w.log(t, "host formula")
	// The stationary points: the saddle at 0 with Hessian diag(2, −1), the minima at (0, ±1)
	// with f = −1/4 and Hessian diag(2, 2).
	for _, tc := range []struct {
		x           []float64
		f, h00, h11 float64
	}{{[]float64{0, 0}, 0, 2, -1}, {[]float64{0, 1}, -0.25, 2, 2}, {[]float64{0, -1}, -0.25, 2, 2}} {
		fx, g := evalGrad(t, e, tc.x)
		if fx != tc.f || g[0] != 0 || g[1] != 0 {
			t.Errorf("saddle at %v: f = %g, ∇f = %v; want %g and 0", tc.x, fx, g, tc.f)
		}
		h, _, _ := hessianFD(t, e, tc.x)
		if math.Abs(h[0][0]-tc.h00) > 1e-8 || math.Abs(h[1][1]-tc.h11) > 1e-8 || math.Abs(h[0][1]) > 1e-8 {
			t.Errorf("saddle at %v: Hessian %v, want diag(%g, %g)", tc.x, h, tc.h00, tc.h11)
		}
	}
	if f.Start[0] != 0.5 || f.Start[1] != 0.1 {
		t.Errorf("Start = %v, want (0.5, 0.1)", f.Start)
	}

	// Pure Newton from Start goes to the saddle: x is solved in one step and y ↦ 2y³/(3y² − 1).
	x := append([]float64(nil), f.Start...)
	for k := range 4 {
		_, g := evalGrad(t, e, x)
		x[0] -= g[0] / 2
		x[1] -= g[1] / (3*x[1]*x[1] - 1)
		if k == 0 && (x[0] != 0 || math.Abs(x[1]-(-0.002/0.97)) > 1e-15) {
			t.Errorf("first Newton step to %v, want (0, %g)", x, -0.002/0.97)
		}
	}
	if x[0] != 0 || math.Abs(x[1]) > 1e-60 { // 2.5e-69 in exact arithmetic, 0 in float64
		t.Errorf("4 Newton steps from Start reach %v, want the saddle (0, 0)", x)
	}
	// Gradient descent (η = 0.1) leaves it for the minimizer (0, 1).
	x = append(x[:0], f.Start...)
	for range 300 {
		_, g := evalGrad(t, e, x)
		x[0] -= 0.1 * g[0]
		x[1] -= 0.1 * g[1]
	}
	if math.Abs(x[0]) > 1e-12 || math.Abs(x[1]-1) > 1e-12 {
		t.Errorf("300 gradient steps (η = 0.1) from Start reach %v, want (0, 1)", x)
	}
}

// cliffR is r(x) = 1 + 2hk·σ'(k(x² − c²)), so that ∂f/∂x = r(x)·x.
func cliffR(x float64) float64 {
	s := 1 / (1 + math.Exp(-cliffK*(x*x-cliffC*cliffC)))
	return 1 + 2*cliffH*cliffK*s*(1-s)
}

func cliffRef(x []float64) (float64, []float64) {
	u, v := x[0], x[1]
	s := 1 / (1 + math.Exp(-cliffK*(u*u-cliffC*cliffC)))
	return (u*u+v*v)/2 + cliffH*s, []float64{cliffR(u) * u, v}
}

func TestCliff(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	f := Cliff()
	e := newEvaluator(t, f, nil)
	e32 := eval32(t, f)
	checkAtMinimizer(t, e)
	var w worstErrors
	points := [][]float64{{2, 0}, {-2, 1}, {1.943, 0.7}, {2.2, -1}, {100, -100}, {-100, 100}}
	for range 20 {
		points = append(points, uniform(rng, 2, -3, 3))
	}
	for range 5 {
		points = append(points, uniform(rng, 2, -100, 100))
	}
	for _, x := range points {
		wantF, wantG := cliffRef(x)
		w.check(t, e, x, wantF, wantG)
		// float32's σ(1 − σ) loses digits in the wall's tails (1 − σ ≈ 1e-4 at |x| = 2.5).
		check32(t, "cliff", e32, x, cliffRef, 1e-4)
	}
	w.log(t, "host formula")
	for i := -100; i <= 100; i += 5 {
		for j := -100; j <= 100; j += 5 {
			x := []float64{float64(i) + 0.3, float64(j) - 0.7}
			fx, g := evalGrad(t, e, x)
			if math.IsNaN(fx) || math.IsInf(fx, 0) || math.IsNaN(g[0]+g[1]) || math.IsInf(g[0]+g[1], 0) {
				t.Fatalf("cliff at %v: f = %g, ∇f = %v", x, fx, g)
			}
		}
	}

	// The numbers in the doc: on the wall ∂f/∂x = 1002 at x = 2, 321× the plateau's |∇f(2.5, 0)|
	// = 3.12; r ≥ 100 on |x| ∈ [1.81, 2.17]; r ≤ 1.25 on the plateau |x| ≥ 2.5.
	_, wall := evalGrad(t, e, []float64{2, 0})
	_, plateau := evalGrad(t, e, []float64{2.5, 0})
	if math.Abs(wall[0]-1002) > 1e-9 {
		t.Errorf("∂f/∂x(2, 0) = %.15g, want 1002", wall[0])
	}
	if p := math.Hypot(plateau[0], plateau[1]); math.Abs(p-3.12) > 0.005 || wall[0]/p < 320 || wall[0]/p > 322 {
		t.Errorf("|∇f(2.5, 0)| = %g, wall/plateau = %g: want 3.12 and 321", p, wall[0]/p)
	}
	for _, x := range []float64{1.81, 2, 2.17, -1.81, -2.17} {
		if _, g := evalGrad(t, e, []float64{x, 0}); g[0]/x < 100 {
			t.Errorf("r(%g) = %g, want ≥ 100 on the wall", x, g[0]/x)
		}
	}
	for _, x := range []float64{1.79, 2.19} {
		if r := cliffR(x); r >= 100 {
			t.Errorf("r(%g) = %g: the wall [1.81, 2.17] is wider than stated", x, r)
		}
	}
	for x := 2.5; x <= 100; x += 0.01 {
		if r := cliffR(x); r < 1 || r > 1.25 {
			t.Fatalf("r(%g) = %g on the plateau, want in [1, 1.25]", x, r)
		}
	}

	// Gradient descent with η = 0.1 from Start: three ordinary steps, then the wall throws it.
	const eta = 0.1
	x := append([]float64(nil), f.Start...)
	for k := range 3 {
		_, g := evalGrad(t, e, x)
		if s := eta * math.Hypot(g[0], g[1]); s > 0.5 {
			t.Errorf("GD step %d from %v moves %g, want an ordinary step ≤ 0.5", k, x, s)
		}
		x[0] -= eta * g[0]
		x[1] -= eta * g[1]
	}
	_, g := evalGrad(t, e, x)
	r := g[0] / x[0]
	if math.Abs(x[0]-1.943) > 0.001 || r < 400 || r > 420 {
		t.Errorf("after 3 GD steps x = %v with r = %g, want x₀ ≈ 1.943 on the wall with r ≈ 412", x, r)
	}
	jump := []float64{x[0] - eta*g[0], x[1] - eta*g[1]}
	if d := math.Hypot(jump[0]-x[0], jump[1]-x[1]); d < 10 || math.Abs(jump[0]-(-78.2)) > 0.1 {
		t.Errorf("GD step from the wall %v goes to %v (distance %g), want x₀ ≈ −78.2, > 10 away", x, jump, d)
	}
	// Clipping ∇f to norm 1 keeps the same step within η of the wall point.
	n := math.Hypot(g[0], g[1])
	clipped := []float64{x[0] - eta*g[0]/n, x[1] - eta*g[1]/n}
	if d := math.Hypot(clipped[0]-x[0], clipped[1]-x[1]); d > eta+1e-15 || clipped[0] < 1.8 {
		t.Errorf("clipped step from %v goes to %v (distance %g), want ≤ %g", x, clipped, d, eta)
	}
	// And η = 0.01 at x = 2 still moves x by 10.
	if s := 0.01 * wall[0]; s < 10 {
		t.Errorf("η = 0.01 at x = 2 moves %g, want ≥ 10", s)
	}
}

// logistic2Ref is Logistic2's loss and gradient written out on the host.
func logistic2Ref(loss string) func(w []float64) (float64, []float64) {
	return func(w []float64) (float64, []float64) {
		var f, g1, g2 float64
		for i, x := range logistic2X {
			t := logistic2T[i]
			s := 1 / (1 + math.Exp(-w[0]*x))
			z := w[1] * s
			y := 1 / (1 + math.Exp(-z))
			var dz float64 // dℓ/dz
			if loss == "mse" {
				f += (y - t) * (y - t) / 2
				dz = (y - t) * y * (1 - y)
			} else {
				sp := math.Log1p(math.Exp(-math.Abs(z))) + math.Max(z, 0) // log(1 + eᶻ)
				f += sp - t*z
				dz = y - t
			}
			g1 += dz * w[1] * s * (1 - s) * x
			g2 += dz * s
		}
		n := float64(len(logistic2X))
		return f / n, []float64{g1 / n, g2 / n}
	}
}

func TestLogistic2(t *testing.T) {
	if f, err := Logistic2("hinge"); err == nil || f != nil || !strings.HasPrefix(err.Error(), "funcs: ") {
		t.Errorf("Logistic2(hinge) = %v, %v: want nil and a funcs: error", f, err)
	}
	// Measured in the doc: the share of a grid with |∇f| < 1e-3, |∇f(Start)|, the Hessian's
	// smallest eigenvalue at a witness point and at w*.
	for _, tc := range []struct {
		loss             string
		flatLo, flatHi   float64
		startGrad        float64
		witness          []float64
		witnessEig       float64
		minEig           float64
		gdSteps, gdSlack int
	}{
		{"mse", 0.20, 0.25, 2.6e-3, []float64{0, -6}, -0.057, 0.0067, 8400, 200},
		{"ce", 0, 0.005, 0.42, []float64{-2, 4}, -0.047, 0.030, 900, 50},
	} {
		t.Run(tc.loss, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 1))
			f, err := Logistic2(tc.loss)
			e := newEvaluator(t, f, err)
			e32 := eval32(t, f)
			ref := logistic2Ref(tc.loss)
			checkAtMinimizer(t, e)
			if w1, w2 := f.Minimizer[0], f.Minimizer[1]; math.Abs(w1-0.460560748198363) > 1e-15 || math.Abs(w2-1.791759469228055) > 1e-15 {
				t.Errorf("Minimizer = %v", f.Minimizer)
			}

			// Value and gradient against the host formula, also at w₂ = 0 (z = 0, where
			// softplus switches branch).
			var w worstErrors
			points := [][]float64{{0, 0}, {1, 0}, {-3, 0}, f.Start, f.Minimizer, {50, -50}, {-50, 50}}
			for range 20 {
				points = append(points, uniform(rng, 2, -10, 10))
			}
			for _, x := range points {
				wantF, wantG := ref(x)
				w.check(t, e, x, wantF, wantG)
				check32(t, f.Name, e32, x, ref, 1e-5)
			}
			w.log(t, "host formula")

			// Finite everywhere on [−50, 50]² (step 2, with w₂ = 0), in float64 and float32.
			for i := -50; i <= 50; i += 2 {
				for j := -50; j <= 50; j += 2 {
					x := []float64{float64(i), float64(j)}
					fx, g := evalGrad(t, e, x)
					f32, g32 := e32(x)
					for _, v := range []float64{fx, g[0], g[1], f32, g32[0], g32[1]} {
						if math.IsNaN(v) || math.IsInf(v, 0) {
							t.Fatalf("%s at %v: f = %g, ∇f = %v; float32 %g, %v", f.Name, x, fx, g, f32, g32)
						}
					}
				}
			}

			// On an 81×81 grid over [−10, 10]²: f ≥ Min everywhere, and the share of flat points.
			flat, total := 0, 0
			for i := -40; i <= 40; i++ {
				for j := -40; j <= 40; j++ {
					x := []float64{float64(i) / 4, float64(j) / 4}
					fx, g := evalGrad(t, e, x)
					if fx < f.Min {
						t.Errorf("%s(%v) = %.17g < Min = %.17g", f.Name, x, fx, f.Min)
					}
					total++
					if math.Hypot(g[0], g[1]) < 1e-3 {
						flat++
					}
				}
			}
			share := float64(flat) / float64(total)
			t.Logf("|∇f| < 1e-3 at %d of %d grid points (%.2f%%)", flat, total, 100*share)
			if share < tc.flatLo || share > tc.flatHi {
				t.Errorf("flat share %.4f, want in [%g, %g]", share, tc.flatLo, tc.flatHi)
			}

			_, g := evalGrad(t, e, f.Start)
			if n := math.Hypot(g[0], g[1]); math.Abs(n-tc.startGrad) > 0.05*tc.startGrad {
				t.Errorf("|∇f(Start)| = %.3g, want %.2g", n, tc.startGrad)
			}

			// Non-convex: a negative Hessian eigenvalue at the witness; convex near w*.
			_, lo, _ := hessianFD(t, e, tc.witness)
			_, loMin, _ := hessianFD(t, e, f.Minimizer)
			t.Logf("smallest Hessian eigenvalue %.4g at %v, %.4g at w*", lo, tc.witness, loMin)
			if math.Abs(lo-tc.witnessEig) > 0.0005 {
				t.Errorf("smallest Hessian eigenvalue at %v = %.4g, want %.3g", tc.witness, lo, tc.witnessEig)
			}
			if math.Abs(loMin-tc.minEig) > 0.05*tc.minEig {
				t.Errorf("smallest Hessian eigenvalue at w* = %.4g, want %.2g", loMin, tc.minEig)
			}

			// Gradient descent, η = 1, from Start to |∇f| < 1e-6, and it ends at w*.
			x := append([]float64(nil), f.Start...)
			k := 0
			for ; k < 20000; k++ {
				_, g := evalGrad(t, e, x)
				if math.Hypot(g[0], g[1]) < 1e-6 {
					break
				}
				x[0] -= g[0]
				x[1] -= g[1]
			}
			t.Logf("gradient descent (η = 1) from %v: %d steps to |∇f| < 1e-6, at %v", f.Start, k, x)
			if k < tc.gdSteps-tc.gdSlack || k > tc.gdSteps+tc.gdSlack || math.Hypot(x[0]-f.Minimizer[0], x[1]-f.Minimizer[1]) > 1e-3 {
				t.Errorf("gradient descent took %d steps to %v, want about %d to w*", k, x, tc.gdSteps)
			}
		})
	}
}

func TestSoftplus(t *testing.T) {
	// graph.Softplus, which the cross-entropy uses, and its gradient σ(z): finite for |z| up to
	// 1e300 and right at z = 0, where it combines the ties of Max (gradient 1) and Abs (+1).
	zs := []float64{-1e300, -800, -50, -1, -1e-300, 0, 1e-300, 1, 50, 800, 1e300}
	exec, err := graph.NewExec(backend.MustDefault(), func(z *graph.Node) (*graph.Node, *graph.Node) {
		sp := graph.Softplus(z)
		return sp, graph.Gradient(graph.ReduceAllSum(sp), z)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(zs, len(zs)))
	if err != nil {
		t.Fatal(err)
	}
	sp := tensors.MustCopyFlatData[float64](out[0])
	g := tensors.MustCopyFlatData[float64](out[1])
	for i, z := range zs {
		want := math.Log1p(math.Exp(-math.Abs(z))) + math.Max(z, 0)
		wantG := 1 / (1 + math.Exp(-z))
		if relDiff(sp[i], want) > 1e-15 || math.Abs(g[i]-wantG) > 1e-15 {
			t.Errorf("softplus(%g) = %g with gradient %g, want %g and %g", z, sp[i], g[i], want, wantG)
		}
	}
}

func TestNonconvexByName(t *testing.T) {
	for _, name := range []string{"saddle", "cliff", "logistic2-mse", "Logistic2-CE"} {
		f, err := ByName(name, 2)
		if err != nil {
			t.Errorf("ByName(%q, 2): %v", name, err)
			continue
		}
		if f.Name != strings.ToLower(name) || f.Dim != 2 || len(f.Start) != 2 || len(f.Minimizer) != 2 {
			t.Errorf("ByName(%q, 2) = %s with Dim %d, Start %v, x* %v", name, f.Name, f.Dim, f.Start, f.Minimizer)
		}
		for _, dim := range []int{1, 3} {
			if f, err := ByName(name, dim); err == nil || f != nil || !strings.Contains(err.Error(), "has dimension 2") {
				t.Errorf("ByName(%q, %d) = %v, %v: want a dimension error", name, dim, f, err)
			}
		}
	}
}
