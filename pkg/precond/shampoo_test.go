package precond

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
	"qnlab/pkg/models"
)

// TestShampooStep checks Shampoo's second step on a linear least-squares layer against its
// definition computed on the host from the optimizer's own state: the roots refreshed after step
// 1 are (G₁G₁ᵀ + εI)^{−1/4} and (G₁ᵀG₁ + εI)^{−1/4} (G₁ the first gradient, recovered from the
// momentum m₁ = (1−β₁)G₁; the bias correction cancels the (1−β₂)), and the weights move by
// −η·‖graft‖/‖D‖·D with D = L^{−1/4}·m̂·R^{−1/4} and Adam's graft = m̂/(√v̂ + ε_graft); the
// biases by −η·graft.
func TestShampooStep(t *testing.T) {
	b := backend.MustDefault()
	const n, in, out = 30, 5, 3
	const lr, beta1, beta2, eps = 0.1, 0.9, 0.99, 1e-4
	rng := rand.New(rand.NewPCG(3, 4))
	xs, ys := make([]float64, n*in), make([]float64, n*out)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	opt, err := Shampoo().LearningRate(lr).Betas(beta1, beta2).Epsilon(eps).RootEvery(1).Done()
	if err != nil {
		t.Fatal(err)
	}
	store := models.NewStore(4)
	trainer := train.NewTrainer(b, store, opt.ModelFn(LinearModel(out)), SquaredLoss, opt, nil, nil)
	step := func() {
		batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(xs, n, in)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ys, n, out)}}
		if _, err := trainer.TrainStep(batch); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if err := opt.Refresh(store, 1); err != nil {
		t.Fatal(err)
	}
	w1, b1 := readFlat(t, store, "/fc/weights"), readFlat(t, store, "/fc/biases")
	m1 := readFlat(t, store, "/shampoo/fc/weights_m")
	lRoot := mat.NewDense(out, out, readFlat(t, store, "/shampoo/fc/weights_0_0_L_root"))
	rRoot := mat.NewDense(in, in, readFlat(t, store, "/shampoo/fc/weights_0_0_R_root"))

	// The roots from G₁.
	g1 := mat.NewDense(out, in, nil)
	for i := range out * in {
		g1.Set(i/in, i%in, m1[i]/(1-beta1))
	}
	var gg, gtg mat.Dense
	gg.Mul(g1, g1.T())
	gtg.Mul(g1.T(), g1)
	for _, c := range []struct {
		name string
		stat *mat.Dense
		root *mat.Dense
	}{{"L", &gg, lRoot}, {"R", &gtg, rRoot}} {
		k, _ := c.stat.Dims()
		sym := mat.NewSymDense(k, nil)
		for i := range k {
			for j := i; j < k; j++ {
				sym.SetSym(i, j, c.stat.At(i, j))
			}
		}
		want, err := HostInverseRoot(sym, 4, eps)
		if err != nil {
			t.Fatal(err)
		}
		rel := relDiff(c.root, want)
		t.Logf("%s root after step 1: relative error %.2e", c.name, rel)
		if rel > 1e-9 {
			t.Errorf("%s root after step 1: relative error %.2e > 1e-9", c.name, rel)
		}
	}

	step()
	w2, b2 := readFlat(t, store, "/fc/weights"), readFlat(t, store, "/fc/biases")
	m2, v2 := readFlat(t, store, "/shampoo/fc/weights_m"), readFlat(t, store, "/shampoo/fc/weights_v")
	mb2, vb2 := readFlat(t, store, "/shampoo/fc/biases_m"), readFlat(t, store, "/shampoo/fc/biases_v")
	c1, c2 := 1-beta1*beta1, 1-beta2*beta2
	mHat := mat.NewDense(out, in, nil)
	graft := mat.NewDense(out, in, nil)
	for i := range out * in {
		mHat.Set(i/in, i%in, m2[i]/c1)
		graft.Set(i/in, i%in, m2[i]/c1/(math.Sqrt(v2[i]/c2)+DefaultShampooGraftEps))
	}
	var d mat.Dense
	d.Mul(lRoot, mHat)
	d.Mul(&d, rRoot)
	scale := mat.Norm(graft, 2) / mat.Norm(&d, 2)
	var maxErr, maxStep float64
	for i := range out * in {
		want := -lr * scale * d.At(i/in, i%in)
		maxErr, maxStep = math.Max(maxErr, math.Abs((w2[i]-w1[i])-want)), math.Max(maxStep, math.Abs(want))
	}
	for i := range out {
		want := -lr * mb2[i] / c1 / (math.Sqrt(vb2[i]/c2) + DefaultShampooGraftEps)
		maxErr, maxStep = math.Max(maxErr, math.Abs((b2[i]-b1[i])-want)), math.Max(maxStep, math.Abs(want))
	}
	t.Logf("step 2: max |Δθ − Shampoo's step| = %.2e (largest step entry %.2e)", maxErr, maxStep)
	if maxErr > 1e-12*maxStep {
		t.Errorf("Shampoo's step 2 differs from its definition by %.2e (> 1e-12 of the step %.2e)", maxErr, maxStep)
	}
}
