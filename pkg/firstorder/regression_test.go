package firstorder

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"qnlab/pkg/backend"
)

// hostGrad is ∇J_B(θ) = (1/|B|)·Σ_{i∈B} (θ0 + θ1·xᵢ − yᵢ)·(1, xᵢ) over the points idx, in plain Go.
func hostGrad(d RegressionData, th [2]float64, idx []int) [2]float64 {
	var g [2]float64
	for _, i := range idx {
		r := th[0] + th[1]*d.X[i] - d.Y[i]
		g[0] += r
		g[1] += r * d.X[i]
	}
	n := float64(len(idx))
	return [2]float64{g[0] / n, g[1] / n}
}

// hostBatch is the lecture's Python gradient_descent, line by line, in plain Go float64.
func hostBatch(d RegressionData, eta, tol float64) (theta [2]float64, iters int) {
	all := make([]int, len(d.X))
	for i := range all {
		all[i] = i
	}
	theta = [2]float64{1, 1}                                               // theta = np.array([1, 1])
	g := hostGrad(d, theta, all)                                           // gradient = gradient_function(theta, X, y)
	for !(math.Abs(g[0]) <= tol && math.Abs(g[1]) <= tol) && iters < 1e6 { // while not np.all(np.absolute(gradient) <= 1e-5)
		theta[0] -= eta * g[0] // theta = theta - eta * gradient
		theta[1] -= eta * g[1]
		g = hostGrad(d, theta, all) // gradient = gradient_function(theta, X, y)
		iters++
	}
	return theta, iters
}

// hostShuffled is FitMiniBatch's rule in plain Go: per epoch one Shuffle of the running order by
// rand.New(rand.NewPCG(seed, 0)), then consecutive batches, the last one partial. It returns θ
// after each update (the start first).
func hostShuffled(d RegressionData, eta float64, batch, epochs int, seed uint64) [][2]float64 {
	m := len(d.X)
	rng := rand.New(rand.NewPCG(seed, 0))
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	th := [2]float64{1, 1}
	path := [][2]float64{th}
	for range epochs {
		rng.Shuffle(m, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for s := 0; s < m; s += batch {
			g := hostGrad(d, th, order[s:min(s+batch, m)])
			th[0] -= eta * g[0]
			th[1] -= eta * g[1]
			path = append(path, th)
		}
	}
	return path
}

// hessianEigen returns the eigenvalues λmin ≤ λmax of ∇²J = (1/m)·AᵀA = [[1, x̄], [x̄, mean x²]].
func hessianEigen(d RegressionData) (lo, hi float64) {
	var mx, mxx float64
	for _, x := range d.X {
		mx += x
		mxx += x * x
	}
	mx /= float64(len(d.X))
	mxx /= float64(len(d.X))
	tr, det := 1+mxx, mxx-mx*mx
	s := math.Sqrt(tr*tr - 4*det)
	return det / ((tr + s) / 2), (tr + s) / 2 // λmin = det/λmax: no cancellation
}

func dist(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

func TestLectureRegressionLeastSquares(t *testing.T) {
	d := LectureRegression()
	if len(d.X) != 18 || len(d.Y) != 18 || d.X[0] != 1 || d.X[17] != 18 || d.Y[17] != 28 {
		t.Fatalf("data: %v", d)
	}
	star, err := d.LeastSquares()
	if err != nil {
		t.Fatal(err)
	}
	// Simple regression in closed form: θ1 = Sxy/Sxx, θ0 = ȳ − θ1·x̄; here Σx = 171, Σx² = 2109,
	// Σy = 255, Σxy = 3138, so θ1 = (18·3138 − 171·255)/(18·2109 − 171²) = 12879/8721 and
	// θ0 = (255 − 171·θ1)/18.
	t1 := 12879.0 / 8721
	t0 := (255 - 171*t1) / 18
	if math.Abs(star[0]-t0) > 1e-12 || math.Abs(star[1]-t1) > 1e-12 {
		t.Errorf("LeastSquares = %.17g, closed form (%.17g, %.17g)", star, t0, t1)
	}
	all := make([]int, 18)
	for i := range all {
		all[i] = i
	}
	if g := hostGrad(d, star, all); math.Abs(g[0]) > 1e-12 || math.Abs(g[1]) > 1e-12 {
		t.Errorf("∇J(θ*) = %g", g)
	}
	if _, err := (RegressionData{X: []float64{2, 2}, Y: []float64{1, 3}}).LeastSquares(); err == nil {
		t.Error("LeastSquares with one distinct x: no error")
	}
}

// TestFitBatchLecture: the lecture's run (η = 0.01, tol = 1e-5 from (1, 1)) through the graph
// optimizer takes exactly the Python algorithm's iterations and θ (hostBatch), and lands where
// the stopping rule says.
func TestFitBatchLecture(t *testing.T) {
	d := LectureRegression()
	const eta, tol = 0.01, 1e-5
	fit, err := FitBatch(backend.MustDefault(), d, eta, tol, 100000)
	if err != nil {
		t.Fatal(err)
	}
	want, iters := hostBatch(d, eta, tol)
	t.Logf("batch GD: %d iterations, θ = (%.15g, %.15g), ∇J = %.3g, J = %.15g", fit.Updates, fit.Theta[0], fit.Theta[1], fit.Gradient, fit.Loss[fit.Updates])
	if !fit.Converged || fit.Diverged || fit.Updates != iters {
		t.Fatalf("FitBatch: %d updates (converged %v, diverged %v), the Python loop %d", fit.Updates, fit.Converged, fit.Diverged, iters)
	}
	// Measured: 4344 (the last gradient's θ0 component is 9.997e-6: a margin of 2.7e-9, an
	// eighth of one update's change there, η·λmin·1e-5 ≈ 2.3e-8, far above rounding).
	if iters != 4344 {
		t.Errorf("the Python loop takes %d iterations, measured 4344 before", iters)
	}
	for i := range 2 {
		if math.Abs(fit.Theta[i]-want[i]) > 1e-12 {
			t.Errorf("θ[%d] = %.17g, the Python loop %.17g", i, fit.Theta[i], want[i])
		}
	}
	if len(fit.Loss) != fit.Updates+1 || len(fit.Path) != fit.Updates+1 || fit.Epochs != fit.Updates || fit.PerEpoch != 1 || fit.Batch != 18 {
		t.Errorf("shape: %d losses, %d θs, %d epochs of %d, batch %d for %d updates", len(fit.Loss), len(fit.Path), fit.Epochs, fit.PerEpoch, fit.Batch, fit.Updates)
	}
	if fit.Path[0] != RegressionStart || math.Abs(fit.Loss[0]-d.Cost(RegressionStart)) > 1e-12 || math.Abs(fit.Loss[fit.Updates]-d.Cost(fit.Theta)) > 1e-12 {
		t.Errorf("loss: J(start) = %g (host %g), J(end) = %g (host %g)", fit.Loss[0], d.Cost(RegressionStart), fit.Loss[fit.Updates], d.Cost(fit.Theta))
	}
	for k := 1; k < len(fit.Loss); k++ { // η < 2/λmax: batch GD on a quadratic never raises J
		if fit.Loss[k] > fit.Loss[k-1] {
			t.Fatalf("J rose at update %d: %g → %g", k, fit.Loss[k-1], fit.Loss[k])
		}
	}
	// J is quadratic with Hessian H, so ∇J(θ) = H(θ − θ*) and ‖θ − θ*‖ ≤ ‖∇J(θ)‖/λmin(H); at the
	// stop every |∂J/∂θⱼ| ≤ tol, so ‖∇J‖ ≤ √2·tol and ‖θ − θ*‖ ≤ √2·tol/λmin = 6.2e-5 here
	// (λmin = 0.2283, λmax = 117.94: κ = 517, which is why GD needs thousands of steps).
	star, err := d.LeastSquares()
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := hessianEigen(d)
	bound := math.Sqrt2 * tol / lo
	if bound > 1e-4 {
		t.Errorf("bound √2·tol/λmin = %g (λmin = %g) is above 1e-4", bound, lo)
	}
	if e := dist(fit.Theta, star); e > bound {
		t.Errorf("‖θ − θ*‖ = %g > %g; θ = %v, θ* = %v", e, bound, fit.Theta, star)
	} else {
		t.Logf("‖θ − θ*‖ = %.3g ≤ √2·tol/λmin = %.3g (λmin = %.4g, λmax = %.5g); θ* = (%.15g, %.15g)", e, bound, lo, hi, star[0], star[1])
	}
}

// TestFitBatchNotConverging: running out of iterations and a too large η are results
// (Converged false), not errors.
func TestFitBatchNotConverging(t *testing.T) {
	b := backend.MustDefault()
	d := LectureRegression()
	fit, err := FitBatch(b, d, 0.01, 1e-5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Converged || fit.Diverged || fit.Updates != 10 || len(fit.Loss) != 11 {
		t.Errorf("maxIter 10: %d updates, converged %v, diverged %v", fit.Updates, fit.Converged, fit.Diverged)
	}
	// The pseudo-code's step η = 1 is far above 2/λmax ≈ 0.017: |1 − η·λmax| ≈ 117 per update,
	// so J overflows within a few hundred updates.
	fit, err = FitBatch(b, d, 1, 1e-5, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("η = 1: θ or J not finite after %d updates", fit.Updates)
	if fit.Converged || !fit.Diverged || fit.Updates >= 1000 {
		t.Errorf("η = 1: %d updates, converged %v, diverged %v, J = %g", fit.Updates, fit.Converged, fit.Diverged, fit.Loss[len(fit.Loss)-1])
	}
	// Just above the limit 2/λmax it grows without overflowing in 300 updates.
	fit, err = FitBatch(b, d, 0.02, 1e-5, 300)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Converged || fit.Diverged || !(fit.Loss[300] > 1e6*fit.Loss[0]) {
		t.Errorf("η = 0.02: converged %v, diverged %v, J from %g to %g", fit.Converged, fit.Diverged, fit.Loss[0], fit.Loss[len(fit.Loss)-1])
	}
}

// TestFitStochastic: per-sample SGD follows the host rule, is reproducible, and after 200 epochs
// at the lecture's η = 0.01 sits in SGD's noise ball around θ*.
func TestFitStochastic(t *testing.T) {
	b := backend.MustDefault()
	d := LectureRegression()
	const eta, epochs = 0.01, 200
	fit, err := FitStochastic(b, d, eta, epochs, 1)
	if err != nil {
		t.Fatal(err)
	}
	star, _ := d.LeastSquares()
	t.Logf("SGD seed 1, %d epochs: θ = (%.10g, %.10g), ‖θ − θ*‖ = %.3g, J = %.6g (J* = %.6g)", epochs, fit.Theta[0], fit.Theta[1], dist(fit.Theta, star), fit.Loss[fit.Updates], d.Cost(star))
	if fit.Updates != 18*epochs || fit.Epochs != epochs || fit.PerEpoch != 18 || fit.Batch != 1 || len(fit.EpochLoss()) != epochs+1 || fit.Converged || fit.Diverged {
		t.Fatalf("shape: %d updates, %d epochs of %d, batch %d, converged %v, diverged %v", fit.Updates, fit.Epochs, fit.PerEpoch, fit.Batch, fit.Converged, fit.Diverged)
	}
	checkHost(t, "SGD", fit, hostShuffled(d, eta, 1, epochs, 1))
	checkReproducible(t, "SGD", fit, func(seed uint64) (*RegressionFit, error) { return FitStochastic(b, d, eta, 20, seed) })
	// Constant-step SGD does not converge: it stalls in a noise ball around θ*. With a reshuffle
	// per epoch (random reshuffling) the noise of an epoch's m steps nearly cancels (their
	// gradients sum to m·∇J), and the end-of-epoch distance is O(η), not the O(√η) of sampling
	// with replacement: on the host, over seeds 1–200, the rms ‖θ − θ*‖ after 800 epochs at
	// η = 0.0025 is 0.038 and after 400 at 0.005 is 0.076, and after 200 at 0.01 it is 0.27 (max
	// 0.84): η = 0.01 is close to SGD's stability limit on this data, since the point x = 18
	// alone has curvature 1 + 18² = 325 > 2/η, and the last steps of an epoch throw θ far along
	// θ1. Seed 1 measures 0.187.
	if e := dist(fit.Theta, star); e > 0.3 {
		t.Errorf("SGD seed 1: ‖θ − θ*‖ = %g, measured 0.187", e)
	}
	// The loss still drops: J after the run is below J at the start by a factor > 5.
	if !(fit.Loss[fit.Updates] < fit.Loss[0]/5) {
		t.Errorf("SGD: J from %g to %g", fit.Loss[0], fit.Loss[fit.Updates])
	}
}

// TestFitMiniBatch: mini-batch GD with the lecture's batch 10 (batches of 10 and 8 on 18
// points) follows the host rule, is reproducible, and lands near θ*.
func TestFitMiniBatch(t *testing.T) {
	b := backend.MustDefault()
	d := LectureRegression()
	const eta, epochs = 0.01, 200
	fit, err := FitMiniBatch(b, d, eta, 10, epochs, 1)
	if err != nil {
		t.Fatal(err)
	}
	star, _ := d.LeastSquares()
	t.Logf("mini-batch seed 1, %d epochs: θ = (%.10g, %.10g), ‖θ − θ*‖ = %.3g, J = %.6g", epochs, fit.Theta[0], fit.Theta[1], dist(fit.Theta, star), fit.Loss[fit.Updates])
	if fit.Updates != 2*epochs || fit.Epochs != epochs || fit.PerEpoch != 2 || fit.Batch != 10 || fit.Converged || fit.Diverged {
		t.Fatalf("shape: %d updates, %d epochs of %d, batch %d", fit.Updates, fit.Epochs, fit.PerEpoch, fit.Batch)
	}
	checkHost(t, "mini-batch", fit, hostShuffled(d, eta, 10, epochs, 1))
	checkReproducible(t, "mini-batch", fit, func(seed uint64) (*RegressionFit, error) { return FitMiniBatch(b, d, eta, 10, 20, seed) })
	// 200 epochs are only 400 updates: the slow eigendirection of H (mostly θ0, λmin = 0.228)
	// has shrunk by (1 − η·λmin)⁴⁰⁰ ≈ 0.40 only, so θ is still 0.36 from θ*, as far as batch GD
	// is after 400 updates. The two batches of an epoch cover every point once, so an epoch is
	// nearly two batch-GD steps: seed 1 is 0.0055 from batch GD's θ after 400 updates (on the
	// host, seeds 1–200: rms 0.036, max 0.083).
	bgd, err := FitBatch(b, d, eta, 0, 2*epochs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mini-batch seed 1, %d epochs: %.3g from batch GD after %d updates", epochs, dist(fit.Theta, bgd.Theta), bgd.Updates)
	if e := dist(fit.Theta, bgd.Theta); e > 0.1 {
		t.Errorf("mini-batch after %d epochs is %g from batch GD after %d updates (θ = %v, %v)", epochs, e, bgd.Updates, fit.Theta, bgd.Theta)
	}
	// With 2000 epochs (4000 updates; (1 − η·λmin)⁴⁰⁰⁰ ≈ 1e-4) only the noise ball is left: on
	// the host, seeds 1–200 are at most 0.077 from θ* (rms 0.031); seed 1 measures 0.040.
	long, err := FitMiniBatch(b, d, eta, 10, 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mini-batch seed 1, 2000 epochs: θ = (%.10g, %.10g), ‖θ − θ*‖ = %.3g", long.Theta[0], long.Theta[1], dist(long.Theta, star))
	if e := dist(long.Theta, star); e > 0.1 {
		t.Errorf("mini-batch seed 1, 2000 epochs: ‖θ − θ*‖ = %g, measured 0.040", e)
	}
	// A batch of at least m is batch GD with the points in shuffled order: one update per epoch.
	all, err := FitMiniBatch(b, d, eta, 100, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if all.Batch != 18 || all.Updates != 3 || dist(all.Theta, bgd.Path[3]) > 1e-12 {
		t.Errorf("batch 100: batch %d, %d updates, θ = %v, batch GD %v", all.Batch, all.Updates, all.Theta, bgd.Path[3])
	}
}

// checkHost compares a fit's θ after each update with the host rule's, to 1e-12 (measured: SGD
// bit for bit, mini-batch 1.1e-15).
func checkHost(t *testing.T, name string, fit *RegressionFit, host [][2]float64) {
	t.Helper()
	if len(host) != len(fit.Path) {
		t.Fatalf("%s: %d θs, host %d", name, len(fit.Path), len(host))
	}
	var worst float64
	for k := range host {
		worst = max(worst, dist(fit.Path[k], host[k]))
	}
	t.Logf("%s: largest difference to the host rule over %d updates: %.3g", name, fit.Updates, worst)
	if worst > 1e-12 {
		t.Errorf("%s: θ differs from the host rule by %g", name, worst)
	}
}

// checkReproducible: a 20-epoch run of seed 1 is bit for bit the start of fit (seed 1), and seed 2
// differs.
func checkReproducible(t *testing.T, name string, fit *RegressionFit, run func(seed uint64) (*RegressionFit, error)) {
	t.Helper()
	again, err := run(1)
	if err != nil {
		t.Fatal(err)
	}
	for k := range again.Path {
		if again.Path[k] != fit.Path[k] || again.Loss[k] != fit.Loss[k] {
			t.Fatalf("%s seed 1 again: update %d: θ = %v, J = %v; first run %v, %v", name, k, again.Path[k], again.Loss[k], fit.Path[k], fit.Loss[k])
		}
	}
	other, err := run(2)
	if err != nil {
		t.Fatal(err)
	}
	if other.Theta == again.Theta || other.Loss[other.Updates] == again.Loss[again.Updates] {
		t.Errorf("%s: seeds 1 and 2 give the same θ %v", name, other.Theta)
	}
}

func TestFitBadInput(t *testing.T) {
	b := backend.MustDefault()
	d := LectureRegression()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"eta 0", fitErr(FitBatch(b, d, 0, 1e-5, 10)), "eta"},
		{"eta NaN", fitErr(FitStochastic(b, d, math.NaN(), 1, 1)), "eta"},
		{"eta Inf", fitErr(FitMiniBatch(b, d, math.Inf(1), 10, 1, 1)), "eta"},
		{"eta < 0", fitErr(FitMiniBatch(b, d, -0.01, 10, 1, 1)), "eta"},
		{"tol < 0", fitErr(FitBatch(b, d, 0.01, -1, 10)), "tol"},
		{"tol NaN", fitErr(FitBatch(b, d, 0.01, math.NaN(), 10)), "tol"},
		{"maxIter < 0", fitErr(FitBatch(b, d, 0.01, 1e-5, -1)), "maxIter"},
		{"batch 0", fitErr(FitMiniBatch(b, d, 0.01, 0, 1, 1)), "batch"},
		{"epochs < 0", fitErr(FitStochastic(b, d, 0.01, -1, 1)), "epochs"},
		{"epochs < 0, mini-batch", fitErr(FitMiniBatch(b, d, 0.01, 10, -1, 1)), "epochs"},
		{"lengths", fitErr(FitBatch(b, RegressionData{X: []float64{1, 2}, Y: []float64{1}}, 0.01, 1e-5, 10)), "1 y"},
		{"empty", fitErr(FitStochastic(b, RegressionData{}, 0.01, 1, 1)), "no points"},
		{"NaN point", fitErr(FitBatch(b, RegressionData{X: []float64{1, math.NaN()}, Y: []float64{1, 2}}, 0.01, 1e-5, 10)), "not finite"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, c.err, c.want)
		}
	}
	// Zero epochs or iterations are not errors: the start only.
	fit, err := FitMiniBatch(b, d, 0.01, 10, 0, 1)
	if err != nil || fit.Updates != 0 || len(fit.Loss) != 1 || fit.Theta != RegressionStart {
		t.Errorf("0 epochs: %+v, %v", fit, err)
	}
}

func fitErr(_ *RegressionFit, err error) error { return err }
