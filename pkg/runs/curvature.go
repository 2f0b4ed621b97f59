package runs

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
)

// The measurements of the 002 article's claims about curvature on mini-batches (§4.1–4.5), on a
// model at the parameters in a store: gradient noise against batch size, the spread of
// mini-batch Hessian spectra, the curvature pairs along a run, and the cost of a step.

// NoisePoint is the gradient noise of batches of one size.
type NoisePoint struct {
	Batch, Samples int
	// Measured is the mean over the samples of ‖g_B − ∇F‖²/‖∇F‖², Spread its standard
	// deviation over the samples.
	Measured, Spread float64
	// Law is the sampling law for B examples drawn without replacement from N:
	// E‖g_B − ∇F‖² = (N − B)/(N − 1) · tr(Σ)/B, over ‖∇F‖² (Σ the per-example gradients'
	// covariance over the population).
	Law float64
}

// NoiseResult is a gradient-noise measurement.
type NoiseResult struct {
	// N is the population's size, GradNorm2 = ‖∇F‖² of its mean loss, TraceSigma = tr(Σ)
	// estimated from PerExample single-example gradients.
	N                     int
	GradNorm2, TraceSigma float64
	PerExample            int
	Points                []NoisePoint
}

// GradientNoise measures E‖g_B − ∇F‖²/‖∇F‖² for each batch size over `samples` batches, each
// drawn without replacement from the population pop (independent, seeded draws), against the
// sampling law; tr(Σ) comes from perExample single-example gradients. F is the mean loss over
// pop at the store's parameters.
func GradientNoise(b compute.Backend, store *model.Store, modelFn models.ModelFn, pop *models.Set, batches []int, samples, perExample int, seed uint64) (NoiseResult, error) {
	res := NoiseResult{N: pop.N, PerExample: perExample}
	h, err := models.NewHVP(b, store, modelFn, pop, 1024, dtypes.InvalidDType)
	if err != nil {
		return res, err
	}
	defer h.Close()
	n := h.Dim()
	full := make([]float64, n)
	if _, err := h.Gradient(full); err != nil {
		return res, err
	}
	res.GradNorm2 = floats.Dot(full, full)
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365)) // "noise"
	g := make([]float64, n)
	gradOf := func(indices []int) error {
		if err := h.SetExamples(pop.Pick(indices)); err != nil {
			return err
		}
		_, err := h.Gradient(g)
		return err
	}
	dist2 := func() float64 {
		d := 0.0
		for i := range g {
			e := g[i] - full[i]
			d += e * e
		}
		return d
	}
	for _, i := range rng.Perm(pop.N)[:perExample] {
		if err := gradOf([]int{i}); err != nil {
			return res, err
		}
		res.TraceSigma += dist2() / float64(perExample)
	}
	for _, bs := range batches {
		if bs < 1 || bs > pop.N {
			return res, fmt.Errorf("runs: GradientNoise: batch %d not in [1, %d]", bs, pop.N)
		}
		ratios := make([]float64, samples)
		for j := range ratios {
			if err := gradOf(rng.Perm(pop.N)[:bs]); err != nil {
				return res, err
			}
			ratios[j] = dist2() / res.GradNorm2
		}
		mean, std := stat.MeanStdDev(ratios, nil)
		law := float64(pop.N-bs) / float64(pop.N-1) * res.TraceSigma / float64(bs) / res.GradNorm2
		res.Points = append(res.Points, NoisePoint{Batch: bs, Samples: samples, Measured: mean, Spread: std, Law: law})
	}
	return res, nil
}

// SpectrumPoint is the extreme Hessian eigenvalues of mini-batches of one size.
type SpectrumPoint struct {
	Batch int
	// Largest[i] and Smallest[i] are the extreme Ritz values of k Lanczos steps on the Hessian
	// of batch i's mean loss (the most negative for Smallest).
	Largest, Smallest []float64
}

// Ratio returns λ_max/|λ_min| of batch i: how far the spectrum's two ends are apart (for an
// indefinite Hessian there is no condition number; this ratio is what a step has to straddle).
func (p SpectrumPoint) Ratio(i int) float64 { return p.Largest[i] / math.Abs(p.Smallest[i]) }

// Indefinite returns the fraction of the batches whose Hessian has a negative eigenvalue
// (λ_min < −1e-6·λ_max).
func (p SpectrumPoint) Indefinite() float64 {
	k := 0
	for i := range p.Smallest {
		if p.Smallest[i] < -1e-6*p.Largest[i] {
			k++
		}
	}
	return float64(k) / float64(len(p.Smallest))
}

// HessianSpectra runs k Lanczos steps on the Hessian of the mean loss of `draws` random
// mini-batches of each size (drawn from pool, seeded; a size ≥ pool.N is the whole pool, once)
// at the store's parameters.
func HessianSpectra(b compute.Backend, store *model.Store, modelFn models.ModelFn, pool *models.Set, batches []int, draws, k int, seed uint64) ([]SpectrumPoint, error) {
	h, err := models.NewHVP(b, store, modelFn, pool.Head(1), 1000, dtypes.InvalidDType)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rng := rand.New(rand.NewPCG(seed, 0x73706563)) // "spec"
	var out []SpectrumPoint
	for _, bs := range batches {
		p := SpectrumPoint{Batch: min(bs, pool.N)}
		reps := draws
		if bs >= pool.N {
			reps = 1
		}
		for range reps {
			set := pool
			if bs < pool.N {
				set = pool.Pick(rng.Perm(pool.N)[:bs])
			}
			if err := h.SetExamples(set); err != nil {
				return nil, err
			}
			ritz, _, err := models.Lanczos(h.Apply, h.Dim(), k, rng.Uint64())
			if err != nil {
				return nil, err
			}
			p.Largest, p.Smallest = append(p.Largest, ritz[len(ritz)-1]), append(p.Smallest, ritz[0])
		}
		out = append(out, p)
	}
	return out, nil
}

// PairStep is one step of a PairStudy: the pair (s, y) the seed's L-BFGS-1 forms across two
// batches, y_cross = ∇f_{B_{k+1}}(x_{k+1}) − ∇f_{B_k}(x_k), against oLBFGS's pair on one batch,
// y_same = ∇f_{B_k}(x_{k+1}) − ∇f_{B_k}(x_k).
type PairStep struct {
	Step int
	// CurvCross and CurvSame are yᵀs/sᵀs of the two pairs; Cos is the cosine of the angle
	// between y_cross and y_same, NoiseRatio ‖y_cross − y_same‖/‖y_same‖.
	CurvCross, CurvSame, Cos, NoiseRatio float64
	// Loss is the batch loss f_{B_k}(x_k).
	Loss float64
}

// PairStudy runs the seed paper's L-BFGS-1 (m = 10, fixed step lr, pairs across batches) for
// steps batches of size batch from the store's parameters on train (seeded batches), on the
// host, and measures both pairs at every step (PairStep). The store ends at the run's last
// point.
func PairStudy(b compute.Backend, store *model.Store, modelFn models.ModelFn, train *models.Set, batch, steps int, lr float64, seed uint64, log io.Writer) ([]PairStep, error) {
	batcher := models.NewBatcher(train, batch, seed)
	order := batcher.Order(0)
	if steps*batch > len(order) {
		return nil, fmt.Errorf("runs: PairStudy: %d steps of %d examples exceed the %d training examples", steps, batch, len(order))
	}
	batchSet := func(k int) *models.Set { return train.Pick(order[k*batch : (k+1)*batch]) }
	h, err := models.NewHVP(b, store, modelFn, batchSet(0), batch, dtypes.InvalidDType)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	n := h.Dim()
	x, err := h.Point()
	if err != nil {
		return nil, err
	}
	grad := func(k int, at []float64, g []float64) (float64, error) {
		if err := h.SetPoint(at); err != nil {
			return 0, err
		}
		if err := h.SetExamples(batchSet(k)); err != nil {
			return 0, err
		}
		return h.Gradient(g)
	}
	dir := &lbfgs.LBFGS{M: lbfgs.DefaultM}
	g := make([]float64, n)
	loss, err := grad(0, x, g)
	if err != nil {
		return nil, err
	}
	if err := dir.Init(x, g); err != nil {
		return nil, err
	}
	out := make([]PairStep, 0, steps)
	gSame, gNext, yc, ys := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	start := time.Now()
	for k := range steps {
		d, err := dir.Next(x, g)
		if err != nil {
			return out, err
		}
		s := make([]float64, n)
		floats.ScaleTo(s, lr, d)
		xNew := make([]float64, n)
		floats.AddTo(xNew, x, s)
		if _, err := grad(k, xNew, gSame); err != nil {
			return out, err
		}
		lossNext, err := grad(k+1, xNew, gNext)
		if err != nil {
			return out, err
		}
		floats.SubTo(yc, gNext, g)
		floats.SubTo(ys, gSame, g)
		ss := floats.Dot(s, s)
		diff := make([]float64, n)
		floats.SubTo(diff, yc, ys)
		out = append(out, PairStep{Step: k, CurvCross: floats.Dot(yc, s) / ss, CurvSame: floats.Dot(ys, s) / ss,
			Cos: floats.Dot(yc, ys) / (floats.Norm(yc, 2) * floats.Norm(ys, 2)), NoiseRatio: floats.Norm(diff, 2) / floats.Norm(ys, 2), Loss: loss})
		if math.IsNaN(lossNext) || math.IsInf(lossNext, 0) {
			return out, fmt.Errorf("runs: PairStudy: the loss is %g at step %d", lossNext, k+1)
		}
		dir.Update(s, slices.Clone(yc)) // the seed's pair
		x, loss = xNew, lossNext
		copy(g, gNext)
		if log != nil && (k+1)%25 == 0 {
			fmt.Fprintf(log, "pair study: step %d of %d (%.0f s)\n", k+1, steps, time.Since(start).Seconds())
		}
	}
	return out, h.SetPoint(x)
}

// CostPoint is the training time of one step against batch size.
type CostPoint struct {
	Batch int
	// Seconds is the median time of a step (the first, which compiles, excluded); PerExample
	// is Seconds/Batch.
	Seconds, PerExample float64
}

// StepCost times steps+1 training steps of spec (its Batch replaced) at each batch size on
// data, alternating the sizes round by round so that all see the same machine load, and
// returns the median step time of each.
func StepCost(b compute.Backend, data *models.MNIST, spec Spec, batches []int, steps, rounds int) ([]CostPoint, error) {
	if steps < 1 || rounds < 1 {
		return nil, errors.New("runs: StepCost needs steps ≥ 1 and rounds ≥ 1")
	}
	times := make([][]float64, len(batches))
	for range rounds {
		for i, bs := range batches {
			s := spec
			s.Batch, s.MaxSteps, s.EvalEvery, s.EvalN, s.Epochs = bs, steps+1, 1, 10, 1
			res, err := Train(b, data, s, Options{})
			if err != nil {
				return nil, err
			}
			for j := 2; j < len(res.Rows); j++ {
				times[i] = append(times[i], res.Rows[j].Seconds-res.Rows[j-1].Seconds)
			}
		}
	}
	out := make([]CostPoint, len(batches))
	for i, bs := range batches {
		slices.Sort(times[i])
		med := stat.Quantile(0.5, stat.Empirical, times[i], nil)
		out[i] = CostPoint{Batch: bs, Seconds: med, PerExample: med / float64(bs)}
	}
	return out, nil
}
