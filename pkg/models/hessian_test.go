package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

// tinyMLP is an MLP small enough for a dense Hessian: the means of the image's 4×4 blocks
// (7×7 = 49 features) → fc 6 → ReLU → fc 10, 49·6+6 + 6·10+10 = 370 parameters.
func tinyMLP(scope *model.Scope, images *Node) *Node {
	b := images.Shape().Dimensions[0]
	x := ReduceMean(Reshape(images, b, 7, 4, 7, 4), 2, 4)
	x = ReLU(Dense(scope.In("fc1"), Reshape(x, b, 49), 6))
	return Dense(scope.In("fc2"), x, NumClasses)
}

const tinyMLPParams = 370

// blockySet returns n synthetic 28×28 examples whose 4×4 blocks have random grey levels (plus a
// little noise), with random labels: features that differ between examples, without the data.
func blockySet(n int, seed uint64) *Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	set := &Set{Images: make([]uint8, n*28*28), Labels: make([]uint8, n), N: n, Rows: 28, Cols: 28}
	for e := range n {
		var level [7][7]float64
		for i := range 7 {
			for j := range 7 {
				level[i][j] = 255 * rng.Float64()
			}
		}
		img := set.Image(e)
		for r := range 28 {
			for c := range 28 {
				img[r*28+c] = uint8(max(0, min(255, level[r/4][c/4]+20*rng.NormFloat64())))
			}
		}
		set.Labels[e] = uint8(rng.IntN(NumClasses))
	}
	return set
}

func newTinyHVP(t *testing.T, seed int64, examples, batchSize int) *HVP {
	t.Helper()
	h, err := NewHVP(backend.MustDefault(), NewStore(seed), tinyMLP, blockySet(examples, 3), batchSize, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if h.Dim() != tinyMLPParams || h.DType() != dtypes.Float64 {
		t.Fatalf("tiny MLP: %d parameters in %s, want %d in Float64", h.Dim(), h.DType(), tinyMLPParams)
	}
	return h
}

func normalVector(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() / math.Sqrt(float64(n))
	}
	return v
}

func relNormDiff(a, b []float64) float64 {
	var d, s float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		s += b[i] * b[i]
	}
	return math.Sqrt(d / s)
}

func TestHVPMatchesFiniteDifferences(t *testing.T) {
	h := newTinyHVP(t, 11, 16, 0)
	want := []string{"/fc1/biases (Float64)[6]", "/fc1/weights (Float64)[6, 49]", "/fc2/biases (Float64)[10]", "/fc2/weights (Float64)[10, 6]"}
	if got := h.Variables(); !slices.Equal(got, want) {
		t.Errorf("Variables() = %q, want %q", got, want)
	}
	x0, err := h.Point()
	if err != nil {
		t.Fatal(err)
	}
	n := h.Dim()
	rng := rand.New(rand.NewPCG(7, 8))
	v := normalVector(rng, n)
	hv := make([]float64, n)
	if err := h.Apply(v, hv); err != nil {
		t.Fatal(err)
	}
	g0 := make([]float64, n)
	loss0, err := h.Gradient(g0)
	if err != nil {
		t.Fatal(err)
	}

	// Central differences along v of the gradient (for Hv) and of the loss (for ∇L·v).
	at := func(step float64) (float64, []float64) {
		x := slices.Clone(x0)
		blas64.Axpy(step, blasVec(v), blasVec(x))
		if err := h.SetPoint(x); err != nil {
			t.Fatal(err)
		}
		g := make([]float64, n)
		loss, err := h.Gradient(g)
		if err != nil {
			t.Fatal(err)
		}
		return loss, g
	}
	worst := 0.0
	for _, eps := range []float64{1e-3, 1e-4, 1e-5} {
		lossUp, up := at(eps)
		lossDown, down := at(-eps)
		fd := make([]float64, n)
		for i := range fd {
			fd[i] = (up[i] - down[i]) / (2 * eps)
		}
		relHv := relNormDiff(hv, fd)
		gv, fdLoss := blas64.Dot(blasVec(g0), blasVec(v)), (lossUp-lossDown)/(2*eps)
		relG := math.Abs(gv-fdLoss) / math.Abs(fdLoss)
		t.Logf("ε=%g: ‖Hv−fd‖/‖fd‖ = %.2e, |∇L·v − fd|/|fd| = %.2e (L = %.6f, ‖Hv‖ = %.4g)", eps, relHv, relG, loss0, blas64.Nrm2(blasVec(hv)))
		if eps <= 1e-4 {
			worst = max(worst, relHv, relG)
		}
	}
	if worst > 1e-8 {
		t.Errorf("HVP or gradient differs from central differences by %.2e relative (want ≤ 1e-8)", worst)
	}
	if err := h.SetPoint(x0); err != nil {
		t.Fatal(err)
	}

	// Chunked batches (5, 5, 5, 1 examples) give the same mean loss, gradient and product.
	hc := newTinyHVP(t, 11, 16, 5)
	hvc, gc := make([]float64, n), make([]float64, n)
	if err := hc.Apply(v, hvc); err != nil {
		t.Fatal(err)
	}
	lossc, err := hc.Gradient(gc)
	if err != nil {
		t.Fatal(err)
	}
	if d1, d2, d3 := relNormDiff(hvc, hv), relNormDiff(gc, g0), math.Abs(lossc-loss0)/loss0; max(d1, d2, d3) > 1e-13 {
		t.Errorf("batches of 5 vs one batch of 16: Hv %.2e, gradient %.2e, loss %.2e relative", d1, d2, d3)
	}
	// out may be v.
	w := slices.Clone(v)
	if err := h.Apply(w, w); err != nil || relNormDiff(w, hv) > 1e-15 {
		t.Errorf("Apply(v, v): %v, differs by %.2e", err, relNormDiff(w, hv))
	}
}

// denseHessian builds H column by column from the products H·e_i.
func denseHessian(t *testing.T, h *HVP) *mat.Dense {
	n := h.Dim()
	hess := mat.NewDense(n, n, nil)
	e, col := make([]float64, n), make([]float64, n)
	for i := range n {
		e[i] = 1
		if err := h.Apply(e, col); err != nil {
			t.Fatal(err)
		}
		e[i] = 0
		hess.SetCol(i, col)
	}
	return hess
}

func TestHessianDenseAndLanczos(t *testing.T) {
	h := newTinyHVP(t, 11, 16, 0)
	n := h.Dim()
	start := time.Now()
	hess := denseHessian(t, h)
	t.Logf("dense Hessian from %d products: %v", n, time.Since(start).Round(time.Millisecond))
	var asym, size float64
	sym := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			a, b := hess.At(i, j), hess.At(j, i)
			asym, size = max(asym, math.Abs(a-b)), max(size, math.Abs(a), math.Abs(b))
			sym.SetSym(i, j, (a+b)/2)
		}
	}
	t.Logf("asymmetry max|H_ij − H_ji| = %.2e (max|H_ij| = %.3g, relative %.2e)", asym, size, asym/size)
	if asym > 1e-12*size {
		t.Errorf("Hessian not symmetric: max|H_ij − H_ji| = %.2e, max|H_ij| = %.3g", asym, size)
	}
	var es mat.EigenSym
	if !es.Factorize(sym, false) {
		t.Fatal("dense eigendecomposition failed")
	}
	lambda := es.Values(nil)
	lmin, lmax := lambda[0], lambda[n-1]
	norm := max(math.Abs(lmin), math.Abs(lmax))
	t.Logf("dense spectrum: λ_min = %.10g, λ_max = %.10g", lmin, lmax)
	if lmin >= 0 {
		t.Errorf("λ_min = %g: expected an indefinite Hessian (a ReLU net at initialisation)", lmin)
	}

	// k = n: all of the spectrum (restarting where a Krylov space is exhausted).
	start = time.Now()
	ritz, info, err := Lanczos(h.Apply, n, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range n {
		worst = max(worst, math.Abs(ritz[i]-lambda[i]))
	}
	t.Logf("Lanczos k=n=%d (%v, %d restarts): max_i |θ_i − λ_i|/‖H‖ = %.2e; extremes %.2e, %.2e",
		n, time.Since(start).Round(time.Millisecond), info.Restarts, worst/norm,
		math.Abs(ritz[0]-lmin)/norm, math.Abs(ritz[n-1]-lmax)/norm)
	if worst > 1e-8*norm {
		t.Errorf("Lanczos with k = n: Ritz values differ from the eigenvalues by %.2e·‖H‖", worst/norm)
	}

	// k = 20, 30: the extremes, and the residual bounds containing their errors.
	tol := map[int][2]float64{20: {1e-12, 1e-8}, 30: {1e-12, 1e-12}} // relative errors: largest, smallest
	for _, k := range []int{10, 20, 30, 50} {
		ritz, info, err := Lanczos(h.Apply, n, k, 1)
		if err != nil {
			t.Fatal(err)
		}
		top, bottom := ritz[k-1], ritz[0]
		errTop, errBottom := math.Abs(top-lmax)/math.Abs(lmax), math.Abs(bottom-lmin)/math.Abs(lmin)
		t.Logf("k=%2d: θ_max = %.10g (rel. error %.1e, residual %.1e), θ_min = %.10g (rel. error %.1e, residual %.1e)",
			k, top, errTop, info.Residuals[k-1], bottom, errBottom, info.Residuals[0])
		if top > lmax+1e-12*norm || bottom < lmin-1e-12*norm {
			t.Errorf("k=%d: Ritz values [%g, %g] outside the spectrum [%g, %g]", k, bottom, top, lmin, lmax)
		}
		for i, r := range ritz {
			if d := nearest(lambda, r); d > info.Residuals[i]+1e-10*norm {
				t.Errorf("k=%d: Ritz value %g is %.2e from the spectrum, beyond its residual %.2e", k, r, d, info.Residuals[i])
			}
		}
		if want, ok := tol[k]; ok && (errTop > want[0] || errBottom > want[1]) {
			t.Errorf("k=%d: relative errors %.1e (largest), %.1e (smallest), want ≤ %.0e, %.0e", k, errTop, errBottom, want[0], want[1])
		}
	}

	// HessianExtremes on the same store (Float64 variables) and data.
	largest, smallest, all, err := HessianExtremes(backend.MustDefault(), h.store, tinyMLP, blockySet(16, 3), 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 40 || math.Abs(largest-lmax) > 1e-12*norm || math.Abs(smallest-lmin) > 1e-12*norm {
		t.Errorf("HessianExtremes (k=40): %d values, [%.15g, %.15g], want [%.15g, %.15g]", len(all), smallest, largest, lmin, lmax)
	}
}

// nearest returns the distance from x to the nearest of the sorted values.
func nearest(sorted []float64, x float64) float64 {
	i, _ := slices.BinarySearch(sorted, x)
	d := math.Inf(1)
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(sorted) {
			d = min(d, math.Abs(sorted[j]-x))
		}
	}
	return d
}

func TestLanczosDiagonal(t *testing.T) {
	// A = diag(1, 2, …, n): known spectrum, evenly spaced (the slow case for the extremes).
	const n = 300
	diag := func(v, out []float64) error {
		for i := range v {
			out[i] = float64(i+1) * v[i]
		}
		return nil
	}
	ritz, info, err := Lanczos(diag, n, n, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ritz {
		if math.Abs(r-float64(i+1)) > 1e-10*n {
			t.Fatalf("k=n: θ_%d = %.15g, want %d", i, r, i+1)
		}
	}
	if info.Steps != n || len(info.Alpha) != n || len(info.Beta) != n-1 || len(info.Residuals) != n {
		t.Errorf("info: %d steps, %d α, %d β, %d residuals", info.Steps, len(info.Alpha), len(info.Beta), len(info.Residuals))
	}
	again, _, _ := Lanczos(diag, n, 40, 5)
	other, _, _ := Lanczos(diag, n, 40, 6)
	first, _, _ := Lanczos(diag, n, 40, 5)
	if !slices.Equal(again, first) || slices.Equal(again, other) {
		t.Errorf("same seed should repeat the run exactly, another seed differ")
	}
	t.Logf("diag(1…%d), k=40: θ_max = %.8g, θ_min = %.8g", n, first[39], first[0])

	// A = I: every step exhausts its Krylov space; restarts give all n eigenvalues 1.
	identity := func(v, out []float64) error { copy(out, v); return nil }
	ritz, info, err = Lanczos(identity, 5, 8, 1)
	if err != nil || len(ritz) != 5 || info.Restarts != 4 {
		t.Fatalf("identity: %v, %v, %d restarts", err, ritz, info.Restarts)
	}
	for _, r := range ritz {
		if math.Abs(r-1) > 1e-14 {
			t.Errorf("identity: Ritz values %v, want all 1", ritz)
		}
	}
	// n = 1.
	if ritz, _, err := Lanczos(func(v, out []float64) error { out[0] = -3 * v[0]; return nil }, 1, 3, 0); err != nil || len(ritz) != 1 || math.Abs(ritz[0]+3) > 1e-15 {
		t.Errorf("n=1: %v, %v", ritz, err)
	}
}

func TestLanczosErrors(t *testing.T) {
	ok := func(v, out []float64) error { copy(out, v); return nil }
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		hvp  func(v, out []float64) error
		n, k int
		want string
	}{
		{"nil", nil, 3, 2, "nil product"},
		{"n=0", ok, 0, 2, "n=0"},
		{"k=0", ok, 3, 0, "k=0"},
		{"failing product", func(v, out []float64) error { return boom }, 3, 2, "boom"},
		{"NaN", func(v, out []float64) error { out[0] = math.NaN(); return nil }, 3, 2, "not finite"},
	} {
		if _, _, err := Lanczos(c.hvp, c.n, c.k, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	h := newTinyHVP(t, 1, 4, 0)
	if err := h.Apply(make([]float64, 3), make([]float64, 3)); err == nil {
		t.Error("Apply with vectors of the wrong length: no error")
	}
	if _, err := NewHVP(backend.MustDefault(), NewStore(1), tinyMLP, blockySet(4, 1), 0, dtypes.Float32); err != nil {
		t.Fatal(err)
	}
	store := NewStore(1)
	if h, err := NewHVP(backend.MustDefault(), store, tinyMLP, blockySet(4, 1), 0, dtypes.Float32); err != nil {
		t.Fatal(err)
	} else {
		h.Close()
		h.Close()
		if err := h.Apply(make([]float64, h.Dim()), make([]float64, h.Dim())); err == nil {
			t.Error("Apply after Close: no error")
		}
	}
	if _, err := NewHVP(backend.MustDefault(), store, tinyMLP, blockySet(4, 1), 0, dtypes.Float64); err == nil {
		t.Error("Float64 asked for a store of Float32 variables: no error")
	}
	if _, err := NewHVP(backend.MustDefault(), store, tinyMLP, &Set{}, 0, dtypes.Float32); err == nil {
		t.Error("empty set: no error")
	}
}

// TestHessianMLPAtInit runs Lanczos (k = 20) on the MNIST MLP's Hessian at initialisation, on
// 256 training images, in float32.
func TestHessianMLPAtInit(t *testing.T) {
	m := loadRealMNIST(t)
	start := time.Now()
	h, err := NewHVP(backend.MustDefault(), NewStore(1), MLP, m.Train.Head(256), 0, dtypes.InvalidDType)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Dim() != 101770 || h.DType() != dtypes.Float32 {
		t.Fatalf("MLP: %d parameters in %s, want 101770 in Float32", h.Dim(), h.DType())
	}
	g := make([]float64, h.Dim())
	loss, err := h.Gradient(g)
	if err != nil {
		t.Fatal(err)
	}
	setup := time.Since(start)
	start = time.Now()
	const k = 20
	ritz, info, err := Lanczos(h.Apply, h.Dim(), k, 1)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	for _, r := range ritz {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			t.Fatalf("Ritz values not finite: %v", ritz)
		}
	}
	t.Logf("MLP at init (store seed 1, 256 images, float32): L = %.4f, ‖∇L‖ = %.4g; setup + gradient %v", loss, blas64.Nrm2(blasVec(g)), setup.Round(time.Millisecond))
	t.Logf("Lanczos k=%d: %v (%v a step); θ_max = %.6g (residual %.1e), θ_min = %.6g (residual %.1e)",
		k, elapsed.Round(time.Millisecond), (elapsed / k).Round(100*time.Microsecond), ritz[k-1], info.Residuals[k-1], ritz[0], info.Residuals[0])
	t.Logf("Ritz values: %.4g", ritz)
	if ritz[k-1] <= 0 {
		t.Errorf("largest Ritz value %g, want > 0", ritz[k-1])
	}
}

// TestHVPSetExamples: SetExamples moves the operator (SimpleCNN, float64) to another set as a
// fresh operator on that set would be. (TestHVPCNN checks the CNN's products against finite
// differences.)
func TestHVPSetExamples(t *testing.T) {
	b := backend.MustDefault()
	h, err := NewHVP(b, NewStore(5), SimpleCNN, blockySet(8, 4), 0, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	n := h.Dim()
	v := normalVector(rand.New(rand.NewPCG(3, 4)), n)
	other := blockySet(5, 9)
	if err := h.SetExamples(other); err != nil {
		t.Fatal(err)
	}
	fresh, err := NewHVP(b, h.store, SimpleCNN, other, 0, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	a, c := make([]float64, n), make([]float64, n)
	if err := h.Apply(v, a); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Apply(v, c); err != nil {
		t.Fatal(err)
	}
	if d := relNormDiff(a, c); d > 1e-13 || h.Examples() != 5 {
		t.Errorf("after SetExamples: %d examples, products differ by %.2e from a fresh operator's", h.Examples(), d)
	}
}
