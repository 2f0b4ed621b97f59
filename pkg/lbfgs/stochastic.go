package lbfgs

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/internal/enum"
)

// Pairs says where a stochastic L-BFGS takes its curvature pairs from. The seed paper's
// optimizer (Optimizer) takes y = ∇f_{B_{k+1}}(x_{k+1}) − ∇f_{B_k}(x_k) across two batches, so
// y carries the difference of two samples' gradient noise; each of these keeps the samples
// of y fixed.
type Pairs int

const (
	// OLBFGS is online L-BFGS (Schraudolph, Yu & Günter 2007, AISTATS, Alg. 2): y is the change
	// of the gradient of one batch B_k from x_k to x_{k+1}, y = ∇f_{B_k}(x_{k+1}) − ∇f_{B_k}(x_k).
	// It costs a second gradient of B_k per step (taken with the next step's).
	OLBFGS Pairs = iota + 1
	// MultiBatch is multi-batch L-BFGS (Berahas, Nocedal & Takáč 2016, NeurIPS, §2): batch
	// S_{k+1} shares O_k (a fraction Overlap of the batch) with S_k and
	// y = ∇f_{O_k}(x_{k+1}) − ∇f_{O_k}(x_k), both terms parts of the batches' own gradients:
	// no extra gradient.
	MultiBatch
	// SQN is the stochastic quasi-Newton method (Byrd, Hansen, Nocedal & Singer 2016, SIAM J.
	// Optim. 26(2), Alg. 1): every L steps, s = x̄_t − x̄_{t−1} between averages of the last L
	// iterates and y = ∇²f_{S_H}(x̄_t)·s, a Hessian-vector product on a separate batch S_H of
	// b_H examples.
	SQN
)

var pairsNames = enum.Names[Pairs]{OLBFGS: "olbfgs", MultiBatch: "mblbfgs", SQN: "sqn"}

func (p Pairs) String() string { return pairsNames.String(p, "Pairs") }

// ParsePairs reads "olbfgs", "mblbfgs" or "sqn".
func ParsePairs(s string) (Pairs, error) { return pairsNames.Parse("lbfgs", "stochastic method", s) }

// Defaults of the stochastic optimizers' settings.
const (
	// DefaultOverlap is MultiBatch's shared fraction of a batch (Berahas et al. 2016 use 25%).
	DefaultOverlap = 0.25
	// DefaultEvery is SQN's L, the steps between two pairs (Byrd et al. 2016 use 10 and 20).
	DefaultEvery = 10
	// DefaultHessianBatch is SQN's b_H in examples.
	DefaultHessianBatch = 512
	// DefaultArmijoC is the sufficient-decrease constant of the stochastic Armijo search.
	DefaultArmijoC = 1e-4
	// DefaultDampingEta is Powell's threshold: pairs with sᵀy < η·sᵀBs are damped.
	DefaultDampingEta = 0.2
)

// StochasticConfig configures a stochastic L-BFGS training optimizer (Stochastic). Set options,
// then call Done.
type StochasticConfig struct {
	pairs        Pairs
	batch        int
	m            int
	lr           float64
	overlap      float64
	every        int
	hessianBatch int
	scaledEps    float64
	damping      bool
	armijo       int
	momentum     float64
	diagH0       bool
	gamma        GammaRule
	scopeName    string
	errs         []error
}

// Stochastic returns the configuration of the stochastic L-BFGS taking its pairs as pairs says,
// for steps on batches of batch examples: m = 10, fixed step lr = 0.01 (or the store's
// "learning_rate"), the relative curvature test of History (DefaultCurvature), no damping, no
// line search, no momentum.
func Stochastic(pairs Pairs, batch int) *StochasticConfig {
	c := &StochasticConfig{pairs: pairs, batch: batch, m: DefaultM, lr: -1, overlap: DefaultOverlap,
		every: DefaultEvery, hessianBatch: DefaultHessianBatch, scopeName: OptimizerScope}
	if !pairsNames.Valid(pairs) {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: unknown stochastic method %v", pairs))
	}
	if batch < 1 {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: batch size %d must be ≥ 1", batch))
	}
	return c
}

func (c *StochasticConfig) fail(format string, a ...any) *StochasticConfig {
	c.errs = append(c.errs, fmt.Errorf("lbfgs: "+format, a...))
	return c
}

// M sets the history size (≥ 1).
func (c *StochasticConfig) M(m int) *StochasticConfig {
	c.m = m
	if m < 1 {
		return c.fail("history size m=%d must be ≥ 1", m)
	}
	return c
}

// LearningRate sets the step lr > 0 (the first trial of the Armijo search, if on).
func (c *StochasticConfig) LearningRate(lr float64) *StochasticConfig {
	c.lr = lr
	if !(lr > 0) || math.IsInf(lr, 0) {
		return c.fail("learning rate %g must be finite and > 0", lr)
	}
	return c
}

// Overlap sets MultiBatch's shared fraction r of a batch, 0 < r ≤ 0.5: round(r·batch) ≥ 1
// examples.
func (c *StochasticConfig) Overlap(r float64) *StochasticConfig {
	c.overlap = r
	if !(r > 0 && r <= 0.5) {
		return c.fail("overlap %g must be in (0, 0.5]", r)
	}
	return c
}

// Every sets SQN's L ≥ 1, the steps between pairs.
func (c *StochasticConfig) Every(l int) *StochasticConfig {
	c.every = l
	if l < 1 {
		return c.fail("pair interval L=%d must be ≥ 1", l)
	}
	return c
}

// HessianBatch sets SQN's b_H ≥ 1, the examples of its Hessian-vector products.
func (c *StochasticConfig) HessianBatch(n int) *StochasticConfig {
	c.hessianBatch = n
	if n < 1 {
		return c.fail("Hessian batch %d must be ≥ 1", n)
	}
	return c
}

// ScaledCurvature replaces the relative curvature test by the scale-invariant one of
// hjmshi/PyTorch-LBFGS (Shi & Mudigere 2018): a pair enters only if yᵀs > eps·sᵀB_k s, with
// B_k = H_k⁻¹. For a step s = t·d, d = −H_k·g, B_k s = −t·g exactly; for SQN's averaged
// pairs, B_k is replaced by B_0 = I/γ_k. eps = 0 restores the relative test.
func (c *StochasticConfig) ScaledCurvature(eps float64) *StochasticConfig {
	c.scaledEps = eps
	if !(eps >= 0 && eps < 1) {
		return c.fail("scaled curvature threshold %g must be in [0, 1)", eps)
	}
	return c
}

// Damping turns on Powell's damping (Nocedal & Wright 2006, Procedure 18.2; used for stochastic
// L-BFGS by Wang, Ma, Goldfarb & Liu 2017, SdLBFGS): a pair with sᵀy < 0.2·sᵀBs is replaced by
// (s, θy + (1−θ)Bs), θ = 0.8·sᵀBs/(sᵀBs − sᵀy), whose sᵀŷ = 0.2·sᵀBs > 0. Bs as in
// ScaledCurvature.
func (c *StochasticConfig) Damping(on bool) *StochasticConfig {
	c.damping = on
	return c
}

// Armijo turns on a stochastic backtracking line search on the step's own batch (Bollapragada,
// Mudigere, Nocedal, Shi & Tang 2018, ICML, §3.2) with trials trial steps lr, lr/2, …,
// lr/2^(trials−1): the first with f_B(x + αd) ≤ f_B(x) + 1e-4·α·gᵀd is taken, the last if none
// is. Each trial is one forward pass on the batch. trials = 0 (the default) is a fixed step.
func (c *StochasticConfig) Armijo(trials int) *StochasticConfig {
	c.armijo = trials
	if trials < 0 || trials > 20 {
		return c.fail("Armijo trials %d must be in [0, 20]", trials)
	}
	return c
}

// Momentum sets β ∈ [0, 1) of a gradient average m ← β·m + (1−β)·g that the direction is taken
// from, d = −H_k·m (the momentum-smoothed second-order step of the 002 article, §4.6). 0 is off.
func (c *StochasticConfig) Momentum(beta float64) *StochasticConfig {
	c.momentum = beta
	if !(beta >= 0 && beta < 1) {
		return c.fail("momentum %g must be in [0, 1)", beta)
	}
	return c
}

// DiagonalH0 replaces H_0 = γ_k·I by the diagonal H_0 = diag(1/(√v̂ + ε)), v̂ Adam's
// bias-corrected average of g² (β2 = 0.999, ε = 1e-8; Kingma & Ba 2015): the pairs then correct
// a per-parameter scaling instead of a single γ, as AdaQN (Keskar & Berahas 2016, ECML-PKDD)
// does with an Adagrad diagonal. With no pairs the step is Adam's without momentum, so the
// learning rate is of Adam's size.
func (c *StochasticConfig) DiagonalH0(on bool) *StochasticConfig {
	c.diagH0 = on
	return c
}

// Gamma sets the γ rule (default GammaNewest).
func (c *StochasticConfig) Gamma(rule GammaRule) *StochasticConfig {
	c.gamma = rule
	if !gammaNames.Valid(rule) {
		return c.fail("unknown γ rule %v", rule)
	}
	return c
}

// Scope sets the scope of the optimizer's variables (default OptimizerScope).
func (c *StochasticConfig) Scope(name string) *StochasticConfig {
	c.scopeName = name
	if name == "" {
		return c.fail("empty optimizer scope name")
	}
	return c
}

// Done validates the configuration and returns the optimizer.
func (c *StochasticConfig) Done() (*StochasticOptimizer, error) {
	if c.pairs == MultiBatch && len(c.errs) == 0 && c.overlapRows() < 1 {
		c.fail("overlap %g of a batch of %d is no example", c.overlap, c.batch)
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &StochasticOptimizer{cfg: *c, steps: map[*Graph]*stepInputs{}}, nil
}

func (c *StochasticConfig) overlapRows() int { return int(math.Round(c.overlap * float64(c.batch))) }

// Layout is how a stochastic optimizer wants its training data: each step's window of Window
// examples begins with the last Shared examples of the previous step's window (so windows
// advance by Window − Shared new examples); every Every-th step (global steps Every−1,
// 2·Every−1, …) also carries HessianBatch further examples, with its train.Batch's Spec set to
// HessianStep. Every is 0 for methods without such steps.
type Layout struct {
	Window, Shared      int
	Every, HessianBatch int
}

// Stride is the number of new examples per step.
func (l Layout) Stride() int { return l.Window - l.Shared }

// StepSpec is the train.Batch Spec of a stochastic optimizer's steps.
type StepSpec int

const (
	// PlainStep is an ordinary step (a nil Spec is one too).
	PlainStep StepSpec = iota
	// HessianStep is an SQN step whose inputs are followed by those of the Hessian batch.
	HessianStep
)

// ExampleLoss returns the losses [n] of the n examples in inputs (each input's axis 0 indexes
// the examples), reading the model's variables from scope; models.ExampleLoss builds one.
type ExampleLoss func(scope *model.Scope, inputs []*Node) *Node

// StochasticOptimizer is a stochastic L-BFGS as a GoMLX optimizer. Its train step needs the
// examples split into parts, which GoMLX's loss node hides, so it comes with its model
// function: train it with
//
//	train.NewTrainer(b, store, opt.ModelFn(loss), nil, opt, nil, nil)
//
// on data laid out as Layout says (runs does this). ModelFn evaluates the parts' losses and
// sets the step's mean loss as the trainer's loss; UpdateGraph differentiates the parts.
//
// One step k at x_k, with g_k the mean gradient of the step's batch:
//  1. the pair of the previous step is offered to the history, safeguarded (Damping,
//     ScaledCurvature) — OLBFGS and MultiBatch: s = x_k − x_{k−1},
//     y = ∇f_O(x_k) − ∇f_O(x_{k−1}) on the examples O the two windows share;
//  2. d = −H_k·g_k by the two-loop recursion (−H_k·m with Momentum; −g_k with no pairs);
//  3. x_{k+1} = x_k + t·d, t = lr or Armijo's step (x kept if d is not finite);
//  4. SQN, on a HessianStep: x̄ = the mean of the last L iterates, and if there is a previous
//     x̄, the pair s = x̄ − x̄_prev, y = ∇²f_{S_H}(x̄)·s is offered to the history.
//
// Its state (history, stored gradients and steps, averages, counters) lives in non-trainable
// variables under its scope, so checkpoints carry it and a resumed run continues exactly.
type StochasticOptimizer struct {
	cfg StochasticConfig

	mu    sync.Mutex
	steps map[*Graph]*stepInputs // from ModelFn to UpdateGraph, per graph being built
}

// stepInputs is what ModelFn hands UpdateGraph for one graph.
type stepInputs struct {
	scope   *model.Scope
	loss    ExampleLoss
	parts   [][]*Node // the window's parts: prev shared, middle, next shared (empty parts omitted)
	sums    []*Node   // their summed losses
	sizes   []int
	step    []int // indices of the parts that make the step's batch
	prev    int   // index of the part shared with the previous window, or −1
	next    int   // index of the part shared with the next window, or −1
	hessian []*Node
}

// Layout returns the data layout the optimizer's steps need.
func (o *StochasticOptimizer) Layout() Layout {
	c := o.cfg
	switch c.pairs {
	case OLBFGS:
		return Layout{Window: 2 * c.batch, Shared: c.batch}
	case MultiBatch:
		return Layout{Window: c.batch, Shared: c.overlapRows()}
	default:
		return Layout{Window: c.batch, Every: c.every, HessianBatch: c.hessianBatch}
	}
}

// Config returns a copy of the optimizer's configuration.
func (o *StochasticOptimizer) Config() StochasticConfig { return o.cfg }

// ModelFn returns the trainer's model function over loss: it takes the step's inputs (a window,
// then on a HessianStep the Hessian batch's inputs), evaluates the losses of the window's
// parts, each its own forward pass, and adds the step batch's mean loss as the trainer's loss
// (train.AddMainLoss). It returns no predictions.
func (o *StochasticOptimizer) ModelFn(loss ExampleLoss) train.ModelFn {
	return func(scope *model.Scope, spec any, inputs []*Node) []*Node {
		lay := o.Layout()
		var hessian []*Node
		if s, _ := spec.(StepSpec); s == HessianStep {
			if o.cfg.pairs != SQN || len(inputs)%2 != 0 {
				panic(fmt.Errorf("lbfgs: a HessianStep for %v with %d inputs", o.cfg.pairs, len(inputs)))
			}
			inputs, hessian = inputs[:len(inputs)/2], inputs[len(inputs)/2:]
			checkRows(hessian, lay.HessianBatch)
		}
		checkRows(inputs, lay.Window)
		st := &stepInputs{scope: scope, loss: loss, hessian: hessian, prev: -1, next: -1}
		add := func(from, to int) int {
			if to <= from {
				return -1
			}
			part := make([]*Node, len(inputs))
			for i, in := range inputs {
				part[i] = Slice(in, AxisRange(from, to))
			}
			st.parts, st.sizes = append(st.parts, part), append(st.sizes, to-from)
			st.sums = append(st.sums, ReduceAllSum(loss(scope.ResetVisited(), part)))
			return len(st.parts) - 1
		}
		switch o.cfg.pairs {
		case OLBFGS:
			st.prev, st.next = add(0, lay.Shared), add(lay.Shared, lay.Window)
			st.step = []int{st.next}
		case MultiBatch:
			st.prev = add(0, lay.Shared)
			mid := add(lay.Shared, lay.Window-lay.Shared)
			st.next = add(lay.Window-lay.Shared, lay.Window)
			for _, p := range []int{st.prev, mid, st.next} {
				if p >= 0 {
					st.step = append(st.step, p)
				}
			}
		default:
			st.step = []int{add(0, lay.Window)}
		}
		sum, n := st.stepSum()
		train.AddMainLoss(DivScalar(sum, float64(n)))
		g := inputs[0].Graph()
		o.mu.Lock()
		o.steps[g] = st
		o.mu.Unlock()
		return nil
	}
}

// stepSum returns the summed loss of the step's batch and its number of examples.
func (st *stepInputs) stepSum() (*Node, int) {
	var sum *Node
	n := 0
	for _, p := range st.step {
		n += st.sizes[p]
		if sum == nil {
			sum = st.sums[p]
		} else {
			sum = Add(sum, st.sums[p])
		}
	}
	return sum, n
}

// checkRows panics (as graph builders do) unless every input has rows examples on axis 0.
func checkRows(inputs []*Node, rows int) {
	for _, in := range inputs {
		if in.Rank() == 0 || in.Shape().Dimensions[0] != rows {
			panic(fmt.Errorf("lbfgs: stochastic step input %s, want %d examples on axis 0", in.Shape(), rows))
		}
	}
}

// stochasticState is the optimizer's variables beyond the history.
type stochasticState struct {
	state
	bs       []*model.Variable // B_k s of the previous step (Damping, ScaledCurvature)
	mom      []*model.Variable // the gradient average (Momentum)
	sum, avg []*model.Variable // SQN: the sum of iterates since the last pair, the last average
	damped   *model.Variable
	sumCount *model.Variable   // SQN: the iterates in sum
	sqAvg    []*model.Variable // DiagonalH0: the average of g²
	h0Count  *model.Variable   // DiagonalH0: the steps averaged (for the bias correction)
}

// DiagonalH0's constants (Adam's defaults).
const (
	diagBeta2 = 0.999
	diagEps   = 1e-8
)

// diagonal updates the average of g² with gk and returns H_0's diagonal 1/(√v̂ + ε) and its
// inverse √v̂ + ε, or nils without DiagonalH0.
func (o *StochasticOptimizer) diagonal(ss stochasticState, gk []*Node) (diag, inv []*Node) {
	if !o.cfg.diagH0 {
		return nil, nil
	}
	g := gk[0].Graph()
	t := AddScalar(ss.h0Count.NodeValue(g), 1)
	ss.h0Count.SetNodeValue(t)
	corr := OneMinus(Pow(Scalar(g, t.DType(), diagBeta2), t))
	diag, inv = make([]*Node, len(gk)), make([]*Node, len(gk))
	for j, gj := range gk {
		v := Add(MulScalar(ss.sqAvg[j].NodeValue(g), diagBeta2), MulScalar(Square(gj), 1-diagBeta2))
		ss.sqAvg[j].SetNodeValue(v)
		inv[j] = AddScalar(Sqrt(Div(v, corr)), diagEps)
		diag[j] = Reciprocal(inv[j])
	}
	return diag, inv
}

// VarDamped counts the pairs Powell's damping changed (under OptimizerScope).
const VarDamped = "damped_pairs"

// UpdateGraph implements optimizer.Interface. The graph must have been built by ModelFn.
func (o *StochasticOptimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	o.mu.Lock()
	st, ok := o.steps[g]
	delete(o.steps, g)
	o.mu.Unlock()
	if !ok {
		panic(errors.New("lbfgs: a stochastic optimizer needs its own model function (StochasticOptimizer.ModelFn)"))
	}
	c := o.cfg
	dtype := loss.DType()
	lrValue := c.lr
	if lrValue <= 0 {
		lrValue = model.GetParamOr(scope, optimizer.ParamLearningRate, DefaultLearningRate)
	}
	lr := optimizer.LearningRateVar(scope, dtype, lrValue).NodeValue(g)
	_ = optimizer.IncrementGlobalStep(g, dtype)

	vars := usedTrainableVars(scope, g)
	x := make([]*Node, len(vars))
	for j, v := range vars {
		x[j] = v.NodeValue(g)
	}
	grads := make([][]*Node, len(st.parts))
	for p := range st.parts {
		grads[p] = castList(Gradient(st.sums[p], x...), dtype)
	}
	stepSum, n := st.stepSum()
	gk := make([]*Node, len(vars))
	for j := range vars {
		for _, p := range st.step {
			if gk[j] == nil {
				gk[j] = grads[p][j]
			} else {
				gk[j] = Add(gk[j], grads[p][j])
			}
		}
		gk[j] = DivScalar(gk[j], float64(n))
	}

	ss := o.newStochasticState(scope, vars, dtype)
	h := ss.history(g)
	one, zero := ScalarOne(g, dtype), ScalarZero(g, dtype)

	// 1. The pair of the previous step (OLBFGS, MultiBatch).
	if st.prev >= 0 {
		s, y := make([]*Node, len(vars)), make([]*Node, len(vars))
		for j := range vars {
			s[j] = ss.prevStep[j].NodeValue(g)
			y[j] = Sub(DivScalar(grads[st.prev][j], float64(st.sizes[st.prev])), ss.prevGrad[j].NodeValue(g))
		}
		var bs []*Node
		if ss.bs != nil {
			bs = nodeValues(ss.bs, g)
		}
		isPair := GreaterThan(ss.hasPrev.NodeValue(g), zero)
		o.offer(ss, h, s, y, bs, isPair, nil)
	}

	// 2. The direction.
	drive := gk
	if ss.mom != nil {
		drive = make([]*Node, len(vars))
		for j, mv := range ss.mom {
			drive[j] = Add(MulScalar(mv.NodeValue(g), c.momentum), MulScalar(gk[j], 1-c.momentum))
			mv.SetNodeValue(drive[j])
		}
	}
	diag, inv := o.diagonal(ss, gk)
	var d []*Node
	if diag == nil {
		d = twoLoopDirection{}.direction(nil, h, drive, nil, c.gamma)
	} else {
		d = twoLoopH0(drive, h.s, h.y, h.rhos(), func(q []*Node) []*Node { return mulList(diag, q) }).d
	}
	finite := IsFinite(dotList(d, d))

	// 3. The step.
	t := lr
	if c.armijo > 0 {
		t = o.armijo(st, vars, x, d, gk, ConvertDType(DivScalar(stepSum, float64(n)), dtype), lr)
	}
	newX := make([]*Node, len(vars))
	for j := range vars {
		step := Mul(t, d[j])
		newX[j] = Where(finite, Add(x[j], ConvertDType(step, x[j].DType())), x[j])
		ss.prevStep[j].SetNodeValue(Where(finite, step, ZerosLike(step)))
		if st.next >= 0 {
			ss.prevGrad[j].SetNodeValue(DivScalar(grads[st.next][j], float64(st.sizes[st.next])))
		}
		if ss.bs != nil {
			ss.bs[j].SetNodeValue(Mul(Neg(t), drive[j]))
		}
	}
	if st.prev >= 0 {
		// A non-finite step leaves no valid previous step: the next call forms no pair.
		ss.hasPrev.SetNodeValue(Where(finite, one, zero))
	}
	nf := ss.nonFiniteSteps.NodeValue(g)
	ss.nonFiniteSteps.SetNodeValue(Where(finite, nf, AddScalar(nf, 1)))

	// 4. SQN's averaged pair.
	if c.pairs == SQN {
		sums := make([]*Node, len(vars))
		for j := range vars {
			sums[j] = Add(ss.sum[j].NodeValue(g), ConvertDType(newX[j], dtype))
		}
		count := AddScalar(ss.sumCount.NodeValue(g), 1)
		if st.hessian == nil {
			setValues(ss.sum, sums)
			ss.sumCount.SetNodeValue(count)
		} else {
			avg := scaleList(Reciprocal(count), sums)
			setValues(ss.sum, zerosLike(sums))
			ss.sumCount.SetNodeValue(zero)
			o.sqnPair(st, ss, h, vars, avg, inv)
			setValues(ss.avg, avg)
			ss.hasPrev.SetNodeValue(one)
		}
	}
	for j, v := range vars {
		v.SetNodeValue(newX[j])
	}
	ss.setHistory(h)
}

// offer safeguards the pair (s, y) and offers it to h where isPair is true. bs is B_k·s, or
// nil for B_0·s: s/γ_k, or s ⊙ inv with a diagonal H_0 (inv its inverse).
func (o *StochasticOptimizer) offer(ss stochasticState, h *slotHistory, s, y, bs []*Node, isPair *Node, inv []*Node) {
	c := o.cfg
	g := isPair.Graph()
	offered := isPair
	if c.damping || c.scaledEps > 0 {
		switch {
		case bs == nil && inv != nil:
			bs = mulList(inv, s)
		case bs == nil:
			bs = scaleList(Reciprocal(h.gamma(c.gamma)), s)
		}
		sBs := dotList(s, bs)
		if c.damping {
			// Procedure 18.2: θ = 1 if sᵀy ≥ η·sᵀBs, else (1−η)·sᵀBs/(sᵀBs − sᵀy).
			ys := dotList(y, s)
			damp := LogicalAnd(LessThan(ys, MulScalar(sBs, DefaultDampingEta)), GreaterThan(sBs, ZerosLike(sBs)))
			theta := Where(damp, Div(MulScalar(sBs, 1-DefaultDampingEta), Where(damp, Sub(sBs, ys), OnesLike(ys))), OnesLike(ys))
			for j := range y {
				y[j] = Add(Mul(theta, y[j]), Mul(OneMinus(theta), bs[j]))
			}
			n := ss.damped.NodeValue(g)
			ss.damped.SetNodeValue(Where(LogicalAnd(isPair, damp), AddScalar(n, 1), n))
		}
		if c.scaledEps > 0 {
			isPair = LogicalAnd(isPair, GreaterThan(dotList(y, s), MulScalar(sBs, c.scaledEps)))
		}
	}
	test := DefaultCurvature
	if c.scaledEps > 0 {
		test = Curvature{} // yᵀs > 0; the scaled test is in isPair
	}
	accept := h.push(s, y, isPair, test)
	rejected := ss.rejected.NodeValue(g)
	ss.rejected.SetNodeValue(Where(LogicalAnd(offered, LogicalNot(accept)), AddScalar(rejected, 1), rejected))
}

// armijo returns the first of the trial steps lr·2^−j (j < Armijo trials) that decreases the
// step batch's mean loss f0 sufficiently along d, else the last.
func (o *StochasticOptimizer) armijo(st *stepInputs, vars []*model.Variable, x, d, gk []*Node, f0, lr *Node) *Node {
	gd := dotList(gk, d)
	var t *Node
	for j := o.cfg.armijo - 1; j >= 0; j-- {
		alpha := MulScalar(lr, math.Pow(0.5, float64(j)))
		for i, v := range vars {
			v.SetNodeValue(Add(x[i], ConvertDType(Mul(alpha, d[i]), x[i].DType())))
		}
		var sum *Node
		n := 0
		for _, p := range st.step {
			part := ReduceAllSum(st.loss(st.scope.ResetVisited(), st.parts[p]))
			n += st.sizes[p]
			if sum == nil {
				sum = part
			} else {
				sum = Add(sum, part)
			}
		}
		f := ConvertDType(DivScalar(sum, float64(n)), f0.DType())
		ok := LessOrEqual(f, Add(f0, Mul(MulScalar(alpha, DefaultArmijoC), gd)))
		if t == nil {
			t = alpha
		} else {
			t = Where(ok, alpha, t)
		}
	}
	for i, v := range vars {
		v.SetNodeValue(x[i])
	}
	return t
}

// sqnPair offers SQN's pair at the new average avg: s = avg − the previous average,
// y = ∇²f_{S_H}(avg)·s (Pearlmutter's product: the gradient of ∇f_{S_H}·s, s held fixed).
func (o *StochasticOptimizer) sqnPair(st *stepInputs, ss stochasticState, h *slotHistory, vars []*model.Variable, avg, inv []*Node) {
	g := avg[0].Graph()
	dtype := avg[0].DType()
	s, xbar := make([]*Node, len(vars)), make([]*Node, len(vars))
	for j, v := range vars {
		s[j] = StopGradient(Sub(avg[j], ss.avg[j].NodeValue(g)))
		xbar[j] = ConvertDType(avg[j], v.DType())
		v.SetNodeValue(xbar[j])
	}
	lossH := ReduceAllSum(st.loss(st.scope.ResetVisited(), st.hessian))
	grad := castList(Gradient(lossH, xbar...), dtype)
	y := scaleList(Scalar(g, dtype, 1/float64(o.cfg.hessianBatch)), castList(Gradient(dotList(grad, s), xbar...), dtype))
	isPair := GreaterThan(ss.hasPrev.NodeValue(g), ScalarZero(g, dtype))
	o.offer(ss, h, s, y, nil, isPair, inv)
}

func (o *StochasticOptimizer) newStochasticState(scope *model.Scope, vars []*model.Variable, dtype dtypes.DType) stochasticState {
	c := o.cfg
	ss := stochasticState{state: newState(scope, c.scopeName, c.m, vars, dtype)}
	top := scope.Store().Scope("/" + c.scopeName).WithInitializer(initializer.Zero)
	ss.damped = top.VariableWithShape(VarDamped, shapes.Make(dtype)).SetTrainable(false)
	if c.damping || c.scaledEps > 0 {
		if c.pairs != SQN {
			ss.bs = perParam(scope, c.scopeName, vars, dtype, "_bs")
		}
	}
	if c.momentum > 0 {
		ss.mom = perParam(scope, c.scopeName, vars, dtype, "_momentum")
	}
	if c.diagH0 {
		ss.sqAvg = perParam(scope, c.scopeName, vars, dtype, "_sq_avg")
		ss.h0Count = top.VariableWithShape("h0_count", shapes.Make(dtype)).SetTrainable(false)
	}
	if c.pairs == SQN {
		ss.sum = perParam(scope, c.scopeName, vars, dtype, "_iterate_sum")
		ss.avg = perParam(scope, c.scopeName, vars, dtype, "_iterate_avg")
		ss.sumCount = top.VariableWithShape("iterate_count", shapes.Make(dtype)).SetTrainable(false)
	}
	return ss
}

// Clear implements optimizer.Interface: it deletes the optimizer's state.
func (o *StochasticOptimizer) Clear(scope *model.Scope) error {
	return scope.Store().Scope("/" + o.cfg.scopeName).DeleteVariablesInScope()
}

func castList(xs []*Node, dtype dtypes.DType) []*Node {
	out := make([]*Node, len(xs))
	for i, x := range xs {
		out[i] = ConvertDType(x, dtype)
	}
	return out
}

func nodeValues(vs []*model.Variable, g *Graph) []*Node {
	out := make([]*Node, len(vs))
	for i, v := range vs {
		out[i] = v.NodeValue(g)
	}
	return out
}

func setValues(vs []*model.Variable, xs []*Node) {
	for i, v := range vs {
		v.SetNodeValue(xs[i])
	}
}

// mulList returns a ⊙ b elementwise over a list of tensors.
func mulList(a, b []*Node) []*Node {
	out := make([]*Node, len(a))
	for j := range a {
		out[j] = Mul(a[j], b[j])
	}
	return out
}

func zerosLike(xs []*Node) []*Node {
	out := make([]*Node, len(xs))
	for i, x := range xs {
		out[i] = ZerosLike(x)
	}
	return out
}
