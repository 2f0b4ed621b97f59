package precond

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/models"
)

// LinearModel is a least-squares model z = W·x + b (models.Dense, which records its Layer).
func LinearModel(out int) models.ModelFn {
	return func(scope *model.Scope, x *Node) *Node { return models.Dense(scope.In("fc"), x, out) }
}

// SquaredLoss is ½‖z − y‖² averaged over the batch: the loss of the Gaussian likelihood N(z, I).
func SquaredLoss(labels, logits []*Node) *Node {
	d := Sub(logits[0], labels[0])
	return DivScalar(ReduceAllMean(ReduceSum(Mul(d, d), -1)), 2)
}

// NaturalGradientCheck trains a linear least-squares layer (n random examples, in → out, in
// float64) for two K-FAC steps with the Exact Fisher of the Gaussian likelihood, learning rate 1,
// no momentum, no KL clip and damping √γ = 10⁻¹²; the first step is a gradient step, the
// refresh after it inverts the factors, and the second is K-FAC's. It returns that second step
// (θ₁ − θ₂, θ = W_aug [out, in+1] row-major) and the natural-gradient step F⁻¹∇ at θ₁, with F
// assembled on the host from the per-example Jacobians (F = E_i Σ_c J_icᵀJ_ic, no Kronecker
// structure assumed). For this model the Fisher is exactly A ⊗ I, so the two must agree to
// rounding: the check that K-FAC's factors, damping and step are the natural gradient where the
// factorisation is exact.
func NaturalGradientCheck(b compute.Backend, n, in, out int, seed uint64) (kfacStep, natural []float64, err error) {
	if n < 1 || in < 1 || out < 1 {
		return nil, nil, fmt.Errorf("precond: NaturalGradientCheck needs n, in, out ≥ 1, got %d, %d, %d", n, in, out)
	}
	rng := rand.New(rand.NewPCG(seed, 8))
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
		return nil, nil, err
	}
	store := models.NewStore(int64(seed))
	trainer := train.NewTrainer(b, store, opt.ModelFn(LinearModel(out)), SquaredLoss, opt, nil, nil)
	step := func(k int) error {
		batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(xs, n, in)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ys, n, out)}, Spec: opt.SpecAt(k)}
		if _, err := trainer.TrainStep(batch); err != nil {
			return err
		}
		if opt.Due(k + 1) {
			return opt.Refresh(store, k+1)
		}
		return nil
	}
	if err := step(0); err != nil {
		return nil, nil, err
	}
	w1, err1 := readVar(store, "/fc/weights")
	b1, err2 := readVar(store, "/fc/biases")
	if err := errors.Join(err1, err2, step(1)); err != nil {
		return nil, nil, err
	}
	w2, err1 := readVar(store, "/fc/weights")
	b2, err2 := readVar(store, "/fc/biases")
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, err
	}

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
				grad[r*(in+1)+k] += res * a[k] / float64(n)
			}
			// J_ir = ∂z_r/∂θ is a in row r's block: F += J_irᵀJ_ir/n.
			for k := range in + 1 {
				for l := k; l < in+1; l++ {
					p, q := r*(in+1)+k, r*(in+1)+l
					fisher.SetSym(p, q, fisher.At(p, q)+a[k]*a[l]/float64(n))
				}
			}
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(fisher) {
		return nil, nil, errors.New("precond: the Fisher is not positive definite (n < in+1?)")
	}
	var want mat.VecDense
	if err := ch.SolveVecTo(&want, mat.NewVecDense(dim, grad)); err != nil {
		return nil, nil, err
	}
	kfacStep, natural = make([]float64, dim), make([]float64, dim)
	for r := range out {
		for k := range in + 1 {
			i := r*(in+1) + k
			if k < in {
				kfacStep[i] = w1[r*in+k] - w2[r*in+k]
			} else {
				kfacStep[i] = b1[r] - b2[r]
			}
			natural[i] = want.AtVec(i)
		}
	}
	return kfacStep, natural, nil
}
