package precond

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/models"
)

// KFACScope is the default scope of K-FAC's state variables.
const KFACScope = "kfac"

// Fisher is how K-FAC estimates the G factor's E[δδᵀ] (δ the gradient of an example's
// log-likelihood with respect to a layer's pre-activations).
type Fisher int

const (
	// Sampled draws one target per example from the model's predictive distribution and
	// backpropagates its loss: the Monte-Carlo Fisher of Martens & Grosse 2015 (§5), one extra
	// backward pass per statistics step.
	Sampled Fisher = iota + 1
	// Empirical uses the gradients of the training loss itself (the labels): no extra pass, but
	// not the Fisher (Kunstner, Balles & Hennig 2019).
	Empirical
	// Exact backpropagates every column of a square root of the output's Fisher (one pass per
	// class): the exact expectation over the predictive distribution.
	Exact
)

var fisherNames = map[Fisher]string{Sampled: "sampled", Empirical: "empirical", Exact: "exact"}

func (f Fisher) String() string { return fisherNames[f] }

// ParseFisher returns the Fisher estimator called name ("sampled", "empirical" or "exact").
func ParseFisher(name string) (Fisher, error) {
	for f, n := range fisherNames {
		if n == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("precond: unknown Fisher estimator %q: want sampled, empirical or exact", name)
}

// Likelihood is the model's predictive distribution given its output z, which defines the
// Fisher: Categorical (softmax(z), the cross-entropy loss) or Gaussian (N(z, I), the loss
// ½‖z − y‖²).
type Likelihood int

const (
	Categorical Likelihood = iota + 1
	Gaussian
)

// KFACConfig configures K-FAC (Martens & Grosse 2015; convolutions as Grosse & Martens 2016).
// Create it with KFAC, set options, call Done.
//
// Per layer s = W·a (models.Layer, W = [weights | biases]) the Fisher block is approximated by
// A ⊗ G with A = E[a aᵀ] (summed over a convolution's positions) and G = E[δ δᵀ]/|T| (δ the
// pre-activations' log-likelihood gradient, |T| positions per example), kept as running averages
// with decay min(1 − 1/k, StatsDecay) over the k-th statistics step (Martens & Grosse §5). Every
// InverseEvery steps the host inverts the factors with factored Tikhonov damping (§6.3):
// (A + π√γ·I)⁻¹ and (G + √γ/π·I)⁻¹, π = √((tr A/dim A)/(tr G/dim G)). The step is the
// preconditioned gradient Δ = (G+…)⁻¹·∇W·(A+…)⁻¹ with momentum and a learning rate,
// rescaled by ν = min(1, √(κ/(η²·Σ⟨Δ, ∇W⟩))) (the KL clip of Ba, Grosse & Martens 2017) — not the
// paper's quadratic-model step (§6.4), which needs two extra Fisher-vector products per step and
// a reduction ratio that is itself noisy on mini-batches. Before the first refresh the step is
// the gradient's.
type KFACConfig struct {
	lr, momentum, damping, decay, klClip float64
	statsEvery, invEvery                 int
	fisher                               Fisher
	likelihood                           Likelihood
	scopeName                            string
	errs                                 []error
}

// K-FAC's defaults: momentum 0.9, damping 10⁻³, decay 0.95, statistics every 10 and inverses
// every 100 steps and KL clip 10⁻³ are the defaults of KFAC-PyTorch (Wang 2019, the common
// PyTorch implementation of Martens & Grosse 2015 with the KL clip); the learning rate is ours.
const (
	DefaultKFACLR         = 0.01
	DefaultKFACMomentum   = 0.9
	DefaultKFACDamping    = 1e-3
	DefaultKFACDecay      = 0.95
	DefaultKFACStatsEvery = 10
	DefaultKFACInvEvery   = 100
	DefaultKFACKLClip     = 1e-3
)

// KFAC returns K-FAC's default configuration (the constants above, the Sampled Fisher of a
// Categorical model).
func KFAC() *KFACConfig {
	return &KFACConfig{lr: DefaultKFACLR, momentum: DefaultKFACMomentum, damping: DefaultKFACDamping, decay: DefaultKFACDecay,
		klClip: DefaultKFACKLClip, statsEvery: DefaultKFACStatsEvery, invEvery: DefaultKFACInvEvery,
		fisher: Sampled, likelihood: Categorical, scopeName: KFACScope}
}

func (c *KFACConfig) fail(format string, a ...any) { c.errs = append(c.errs, fmt.Errorf(format, a...)) }

// LearningRate sets η > 0.
func (c *KFACConfig) LearningRate(lr float64) *KFACConfig {
	if !(lr > 0) || math.IsInf(lr, 0) {
		c.fail("precond: learning rate %g must be finite and > 0", lr)
	}
	c.lr = lr
	return c
}

// Momentum sets μ ∈ [0, 1).
func (c *KFACConfig) Momentum(mu float64) *KFACConfig {
	if !(mu >= 0 && mu < 1) {
		c.fail("precond: momentum %g must be in [0, 1)", mu)
	}
	c.momentum = mu
	return c
}

// Damping sets the Tikhonov damping γ > 0.
func (c *KFACConfig) Damping(gamma float64) *KFACConfig {
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		c.fail("precond: damping %g must be finite and > 0", gamma)
	}
	c.damping = gamma
	return c
}

// StatsDecay sets the running averages' decay ∈ [0, 1).
func (c *KFACConfig) StatsDecay(beta float64) *KFACConfig {
	if !(beta >= 0 && beta < 1) {
		c.fail("precond: statistics decay %g must be in [0, 1)", beta)
	}
	c.decay = beta
	return c
}

// KLClip sets κ of the KL clip (0: no clip).
func (c *KFACConfig) KLClip(kappa float64) *KFACConfig {
	if !(kappa >= 0) || math.IsInf(kappa, 0) {
		c.fail("precond: KL clip %g must be finite and ≥ 0", kappa)
	}
	c.klClip = kappa
	return c
}

// StatsEvery sets the steps between statistics updates (≥ 1).
func (c *KFACConfig) StatsEvery(n int) *KFACConfig {
	if n < 1 {
		c.fail("precond: statistics interval %d must be ≥ 1", n)
	}
	c.statsEvery = n
	return c
}

// InverseEvery sets the steps between inverse refreshes T (≥ 1).
func (c *KFACConfig) InverseEvery(n int) *KFACConfig {
	if n < 1 {
		c.fail("precond: refresh interval %d must be ≥ 1", n)
	}
	c.invEvery = n
	return c
}

// Fisher sets the G factor's estimator.
func (c *KFACConfig) Fisher(f Fisher) *KFACConfig {
	if _, ok := fisherNames[f]; !ok {
		c.fail("precond: unknown Fisher estimator %d", f)
	}
	c.fisher = f
	return c
}

// Likelihood sets the model's predictive distribution.
func (c *KFACConfig) Likelihood(l Likelihood) *KFACConfig {
	if l != Categorical && l != Gaussian {
		c.fail("precond: unknown likelihood %d", l)
	}
	c.likelihood = l
	return c
}

// Scope sets the scope of the state variables (default KFACScope).
func (c *KFACConfig) Scope(name string) *KFACConfig {
	if name == "" {
		c.fail("precond: empty optimizer scope name")
	}
	c.scopeName = name
	return c
}

// Done validates the configuration and returns the optimizer.
func (c *KFACConfig) Done() (*KFACOptimizer, error) {
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &KFACOptimizer{cfg: *c}, nil
}

// KFACOptimizer is K-FAC as a GoMLX optimizer (an Optimizer). Its state — the factors, their
// damped inverses, the momentum, the counters — lives in non-trainable variables under its
// scope: a checkpoint carries it and a resumed run continues exactly.
type KFACOptimizer struct {
	cfg KFACConfig
}

// ModelFn implements Optimizer.
func (o *KFACOptimizer) ModelFn(fn models.ModelFn) func(scope *model.Scope, spec any, images *Node) *Node {
	return modelFn(fn)
}

// SpecAt implements Optimizer: statistics every StatsEvery steps from the first.
func (o *KFACOptimizer) SpecAt(step int) any {
	if step%o.cfg.statsEvery == 0 {
		return StatsStep
	}
	return nil
}

// Due implements Optimizer: after the first step, then every InverseEvery steps.
func (o *KFACOptimizer) Due(step int) bool {
	return step == 1 || (step > 0 && step%o.cfg.invEvery == 0)
}

// Names of K-FAC's per-layer variables (under /scope/<the layer's scope>) and scalars.
const (
	varA, varG, varAInv, varGInv = "A", "G", "A_inv", "G_inv"
	varStatsCount, varRefreshed  = "stats_count", "refreshed"
)

// layerState is one layer's K-FAC variables.
type layerState struct {
	a, g, aInv, gInv, velW, velB *model.Variable
}

func (o *KFACOptimizer) layerState(store *model.Store, l models.Layer, dtype dtypes.DType) layerState {
	out := l.Weights.Shape().Dimensions[0]
	in := l.Weights.Shape().Size()/out + 1
	within := l.Weights.Scope()
	sv := func(name string, dims ...int) *model.Variable {
		return stateVar(store, o.cfg.scopeName, within, name, dtype, dims...)
	}
	return layerState{a: sv(varA, in, in), g: sv(varG, out, out), aInv: sv(varAInv, in, in), gInv: sv(varGInv, out, out),
		velW: sv(l.Weights.Name()+"_velocity", l.Weights.Shape().Dimensions...), velB: sv(l.Biases.Name()+"_velocity", out)}
}

// UpdateGraph implements optimizer.Interface.
func (o *KFACOptimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("precond: K-FAC needs a scalar loss, got %s", loss.Shape()))
	}
	layers := models.Layers(scope, g)
	if len(layers) == 0 {
		panic(errors.New("precond: K-FAC found no layers: train with its ModelFn and a model of models.Layers (SimpleCNN, MLP, Dense)"))
	}
	dtype := loss.DType()
	store := scope.Store()
	grads := gradients(scope, g, loss)
	_ = optimizer.IncrementGlobalStep(g, dtype)
	lr := Scalar(g, dtype, o.cfg.lr)
	states := make([]layerState, len(layers))
	for i, l := range layers {
		states[i] = o.layerState(store, l, dtype)
	}
	if isStats(scope, g) {
		o.accumulate(scope, g, loss, layers, states)
	}
	refreshed := GreaterThan(stateVar(store, o.cfg.scopeName, "", varRefreshed, dtype).ValueGraph(g), ScalarZero(g, dtype))

	// Δ per layer, in the [Out, In+1] layout.
	covered := map[*model.Variable]bool{}
	deltas, gradsW := make([]*Node, len(layers)), make([]*Node, len(layers))
	var inner *Node // Σ⟨Δ, ∇W⟩
	for i, l := range layers {
		gw, gb := grads[l.Weights], grads[l.Biases]
		if gw == nil || gb == nil {
			panic(fmt.Errorf("precond: layer %s has no gradient", l.Weights.Scope()))
		}
		covered[l.Weights], covered[l.Biases] = true, true
		out := l.Weights.Shape().Dimensions[0]
		gradsW[i] = Concatenate([]*Node{Reshape(gw, out, -1), Reshape(gb, out, 1)}, 1)
		st := states[i]
		pre := MatMul(MatMul(st.gInv.ValueGraph(g), gradsW[i]), st.aInv.ValueGraph(g))
		deltas[i] = Where(refreshed, pre, gradsW[i])
		term := ReduceAllSum(Mul(deltas[i], gradsW[i]))
		if inner == nil {
			inner = term
		} else {
			inner = Add(inner, term)
		}
	}
	nu := ScalarOne(g, dtype)
	if o.cfg.klClip > 0 {
		// ν = min(1, √(κ / (η²·Σ⟨Δ, ∇⟩))); Σ⟨Δ, ∇⟩ ≥ 0 (the preconditioner is positive definite).
		nu = Min(nu, Sqrt(Div(Scalar(g, dtype, o.cfg.klClip), Mul(Mul(lr, lr), Max(inner, Scalar(g, dtype, 1e-30))))))
	}
	mu := Scalar(g, dtype, o.cfg.momentum)
	apply := func(v, vel *model.Variable, d *Node) {
		velocity := Add(Mul(mu, vel.ValueGraph(g)), Mul(nu, d))
		vel.SetValueGraph(velocity)
		v.SetValueGraph(Sub(v.ValueGraph(g), Mul(lr, velocity)))
	}
	for i, l := range layers {
		st := states[i]
		out := l.Weights.Shape().Dimensions[0]
		in := l.Weights.Shape().Size() / out
		apply(l.Weights, st.velW, Reshape(Slice(deltas[i], AxisRange(), AxisRange(0, in)), l.Weights.Shape().Dimensions...))
		apply(l.Biases, st.velB, Reshape(Slice(deltas[i], AxisRange(), AxisRange(in, in+1)), out))
	}
	// Variables outside the recorded layers take the momentum step on their gradient.
	for _, v := range sortedVars(grads) {
		if !covered[v] {
			vel := stateVar(store, o.cfg.scopeName, v.Scope(), v.Name()+"_velocity", dtype, v.Shape().Dimensions...)
			apply(v, vel, grads[v])
		}
	}
}

// accumulate updates the factors' running averages from the batch (a statistics step).
func (o *KFACOptimizer) accumulate(scope *model.Scope, g *Graph, loss *Node, layers []models.Layer, states []layerState) {
	dtype := loss.DType()
	store := scope.Store()
	count := stateVar(store, o.cfg.scopeName, "", varStatsCount, dtype)
	k := AddScalar(count.ValueGraph(g), 1)
	count.SetValueGraph(k)
	beta := Min(Sub(ScalarOne(g, dtype), Inverse(k)), Scalar(g, dtype, o.cfg.decay))
	ema := func(v *model.Variable, batch *Node) {
		v.SetValueGraph(Add(Mul(beta, v.ValueGraph(g)), Mul(OneMinus(beta), batch)))
	}
	// δ's second moments, per layer, from the chosen estimator.
	var outputs []*Node
	for _, l := range layers {
		outputs = append(outputs, l.Outputs...)
	}
	gSums := make([]*Node, len(layers))
	addG := func(deltas []*Node, weight *Node) {
		k := 0
		for i, l := range layers {
			part := gramOver(deltas[k:k+len(l.Outputs)], l.OutputAxis)
			k += len(l.Outputs)
			if weight != nil {
				part = Mul(weight, part)
			}
			if gSums[i] == nil {
				gSums[i] = part
			} else {
				gSums[i] = Add(gSums[i], part)
			}
		}
	}
	logits := logitsOf(scope, g)
	b := logits.Shape().Dimensions[0]
	switch o.cfg.fisher {
	case Empirical:
		// The loss is the batch mean: its gradient is δ_i/B.
		d := Gradient(loss, outputs...)
		addG(d, Scalar(g, dtype, float64(b)*float64(b)))
	case Sampled:
		v := o.sample(scope, g, logits)
		addG(Gradient(ReduceAllSum(Mul(StopGradient(v), logits)), outputs...), nil)
	case Exact:
		for _, v := range o.fisherColumns(logits) {
			addG(Gradient(ReduceAllSum(Mul(StopGradient(v), logits)), outputs...), nil)
		}
	}
	for i, l := range layers {
		inputs := l.Inputs
		if l.AppendOne {
			inputs = make([]*Node, len(l.Inputs))
			for j, x := range l.Inputs {
				dims := x.Shape().Clone().Dimensions
				dims[1-l.InputAxis] = 1
				inputs[j] = Concatenate([]*Node{x, Ones(g, shapes.Make(x.DType(), dims...))}, 1-l.InputAxis)
			}
		}
		aBatch := DivScalar(gramOver(inputs, l.InputAxis), float64(l.Examples))
		gBatch := DivScalar(gSums[i], float64(l.Examples*l.Positions))
		ema(states[i].a, ConvertDType(aBatch, dtype))
		ema(states[i].g, ConvertDType(gBatch, dtype))
	}
}

// sample returns, per example, the output gradient of the loss at a target drawn from the
// predictive distribution: p − onehot(ŷ) with ŷ ~ softmax(z) (by the Gumbel-max trick), or
// ε ~ N(0, I) for the Gaussian. The draws come from the store's random state (checkpointed).
func (o *KFACOptimizer) sample(scope *model.Scope, g *Graph, z *Node) *Node {
	if o.cfg.likelihood == Gaussian {
		return scope.RandomNormal(g, z.Shape())
	}
	u := scope.RandomUniform(g, z.Shape())
	tiny := Scalar(g, z.DType(), 1e-20)
	gumbel := Neg(Log(Add(Neg(Log(Add(u, tiny))), tiny)))
	y := ArgMax(Add(StopGradient(z), gumbel), -1, dtypes.Int32)
	classes := z.Shape().Dimensions[1]
	return Sub(Softmax(StopGradient(z), -1), OneHot(y, classes, z.DType()))
}

// fisherColumns returns the columns v_c (per example) of a square root of the output's Fisher,
// F_out = Σ_c v_c v_cᵀ: √p_c·(p − e_c) for the Categorical (F_out = diag(p) − ppᵀ), e_c for the
// Gaussian (F_out = I).
func (o *KFACOptimizer) fisherColumns(z *Node) []*Node {
	classes := z.Shape().Dimensions[1]
	g, dtype := z.Graph(), z.DType()
	out := make([]*Node, classes)
	p := Softmax(StopGradient(z), -1)
	for c := range classes {
		e := BroadcastToDims(OneHot(Const(g, []int32{int32(c)}), classes, dtype), z.Shape().Dimensions...) // [1, C] → [B, C]
		if o.cfg.likelihood == Gaussian {
			out[c] = e
			continue
		}
		pc := Slice(p, AxisRange(), AxisRange(c, c+1))
		out[c] = Mul(Sqrt(pc), Sub(p, e))
	}
	return out
}

// Refresh implements Optimizer: the damped inverses of every layer's factors, on the host (the
// layers in parallel; each is deterministic).
func (o *KFACOptimizer) Refresh(store *model.Store, step int) error {
	type job struct{ a, g, aInv, gInv *model.Variable }
	var jobs []job
	prefix := "/" + o.cfg.scopeName + "/"
	for v := range store.IterVariables() {
		if v.Name() == varA && strings.HasPrefix(v.Path(), prefix) {
			sc := v.Scope()
			get := func(name string) *model.Variable { return store.GetVariable(sc + "/" + name) }
			j := job{a: v, g: get(varG), aInv: get(varAInv), gInv: get(varGInv)}
			if j.g == nil || j.aInv == nil || j.gInv == nil {
				return fmt.Errorf("precond: K-FAC state in %s is incomplete", sc)
			}
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return errors.New("precond: K-FAC refresh before any statistics")
	}
	type result struct{ aInv, gInv *mat.SymDense }
	results := make([]result, len(jobs))
	// Reading and writing variables is not safe concurrently: read first, invert in parallel.
	as, gs := make([]*mat.SymDense, len(jobs)), make([]*mat.SymDense, len(jobs))
	for i, j := range jobs {
		var err error
		if as[i], err = readSym(j.a); err != nil {
			return err
		}
		if gs[i], err = readSym(j.g); err != nil {
			return err
		}
	}
	err := parallel(len(jobs), func(i int) (err error) {
		results[i].aInv, results[i].gInv, err = DampedInverses(as[i], gs[i], o.cfg.damping)
		return err
	})
	if err != nil {
		return fmt.Errorf("precond: K-FAC refresh after step %d: %w", step, err)
	}
	for i, j := range jobs {
		if err := errors.Join(writeMatrix(j.aInv, results[i].aInv), writeMatrix(j.gInv, results[i].gInv)); err != nil {
			return err
		}
	}
	ref := store.GetVariable("/" + o.cfg.scopeName + "/" + varRefreshed)
	if ref == nil {
		return errors.New("precond: K-FAC state has no refresh flag")
	}
	return writeScalar(ref, 1)
}

// DampedInverses returns K-FAC's factored Tikhonov-damped inverses (Martens & Grosse 2015, §6.3):
// (A + π√γ·I)⁻¹ and (G + √γ/π·I)⁻¹ with π = √((tr A/dim A)/(tr G/dim G)) (π = 1 if a trace is
// 0), so that the damping's Kronecker product adds about γ·I to A ⊗ G, split in the
// proportion of the factors' average eigenvalues.
func DampedInverses(a, g *mat.SymDense, gamma float64) (aInv, gInv *mat.SymDense, err error) {
	ta := mat.Trace(a) / float64(a.SymmetricDim())
	tg := mat.Trace(g) / float64(g.SymmetricDim())
	pi := 1.0
	if ta > 0 && tg > 0 {
		pi = math.Sqrt(ta / tg)
	}
	sq := math.Sqrt(gamma)
	if aInv, err = dampedInverse(a, pi*sq); err != nil {
		return nil, nil, err
	}
	if gInv, err = dampedInverse(g, sq/pi); err != nil {
		return nil, nil, err
	}
	return aInv, gInv, nil
}

// Clear implements optimizer.Interface.
func (o *KFACOptimizer) Clear(scope *model.Scope) error {
	return scope.Store().Scope("/" + o.cfg.scopeName).DeleteVariablesInScope()
}
