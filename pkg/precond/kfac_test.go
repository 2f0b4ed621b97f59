package precond

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
	"qnlab/pkg/models"
)

// linearLayer is a least-squares model z = W·x + b (models.Dense, which records its Layer).
func linearLayer(out int) models.ModelFn {
	return func(scope *model.Scope, x *Node) *Node { return models.Dense(scope.In("fc"), x, out) }
}

// squaredLoss is ½‖z − y‖² averaged over the batch (the Gaussian likelihood's loss).
func squaredLoss(labels, logits []*Node) *Node {
	d := Sub(logits[0], labels[0])
	return DivScalar(ReduceAllMean(ReduceSum(Mul(d, d), -1)), 2)
}

// readFlat returns a variable's values.
func readFlat(t *testing.T, store *model.Store, path string) []float64 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	val, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](val)
}

// TestKFACIsNaturalGradientOnLinearLeastSquares: for one linear layer with the squared loss the
// Fisher is exactly A ⊗ I (A = E[a aᵀ], a = [x; 1]), so K-FAC's step with the exact G factor
// and damping √γ = 10⁻¹² (no effect at this tolerance) must equal the natural-gradient step F⁻¹∇ computed from the dense
// Fisher (F = E_i Σ_c J_icᵀ J_ic, per-example Jacobians, assembled without any Kronecker
// structure) at the same point.
func TestKFACIsNaturalGradientOnLinearLeastSquares(t *testing.T) {
	b := backend.MustDefault()
	const n, in, out = 40, 5, 3
	rng := rand.New(rand.NewPCG(7, 8))
	xs, ys := make([]float64, n*in), make([]float64, n*out)
	for i := range xs {
		xs[i] = rng.NormFloat64() + 0.3*float64(i%in) // correlated, off-centre inputs
	}
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	opt, err := KFAC().LearningRate(1).Momentum(0).KLClip(0).Damping(1e-24).StatsEvery(1).InverseEvery(1).
		Fisher(Exact).Likelihood(Gaussian).Done()
	if err != nil {
		t.Fatal(err)
	}
	store := models.NewStore(3)
	trainer := train.NewTrainer(b, store, opt.ModelFn(linearLayer(out)), squaredLoss, opt, nil, nil)
	step := func(k int) {
		batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(xs, n, in)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ys, n, out)}, Spec: opt.SpecAt(k)}
		if _, err := trainer.TrainStep(batch); err != nil {
			t.Fatal(err)
		}
		if opt.Due(k + 1) {
			if err := opt.Refresh(store, k+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	step(0) // the gradient step; the refresh after it inverts the factors
	w1, b1 := readFlat(t, store, "/fc/weights"), readFlat(t, store, "/fc/biases")
	step(1) // the K-FAC step at (w1, b1)
	w2, b2 := readFlat(t, store, "/fc/weights"), readFlat(t, store, "/fc/biases")

	// The natural-gradient step at (w1, b1), on the host. θ = vec of W_aug [out, in+1] row-major.
	dim := out * (in + 1)
	grad := make([]float64, dim)
	fisher := mat.NewSymDense(dim, nil)
	for i := range n {
		a := append(append([]float64(nil), xs[i*in:(i+1)*in]...), 1)
		for r := range out {
			z := b1[r]
			for k := range in {
				z += w1[r*in+k] * a[k]
			}
			res := z - ys[i*out+r]
			for k := range in + 1 {
				grad[r*(in+1)+k] += res * a[k] / n
			}
			// J_ir = ∂z_r/∂θ: a in row r's block. F += J_irᵀ J_ir / n.
			for k := range in + 1 {
				for l := k; l < in+1; l++ {
					p, q := r*(in+1)+k, r*(in+1)+l
					fisher.SetSym(p, q, fisher.At(p, q)+a[k]*a[l]/n)
				}
			}
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(fisher) {
		t.Fatal("the Fisher is not positive definite")
	}
	var want mat.VecDense
	if err := ch.SolveVecTo(&want, mat.NewVecDense(dim, grad)); err != nil {
		t.Fatal(err)
	}
	var diff, norm float64
	for r := range out {
		for k := range in + 1 {
			got := b1[r] - b2[r]
			if k < in {
				got = w1[r*in+k] - w2[r*in+k]
			}
			w := want.AtVec(r*(in+1) + k)
			diff, norm = diff+(got-w)*(got-w), norm+w*w
		}
	}
	rel := math.Sqrt(diff / norm)
	t.Logf("‖K-FAC step − F⁻¹∇‖ / ‖F⁻¹∇‖ = %.2e", rel)
	if rel > 1e-9 {
		t.Errorf("K-FAC's step differs from the natural gradient: relative error %.2e > 1e-9", rel)
	}
}
