package lbfgs

import (
	"errors"
	"fmt"
	"math"
	"path"
	"qnlab/internal/trainvars"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// OptimizerScope is the default scope of the L-BFGS optimizer's state variables.
const OptimizerScope = "lbfgs"

// Names of the optimizer's scalar state variables (under OptimizerScope).
const (
	// VarCount is the number of valid pairs in the history (float, as the loss).
	VarCount = "count"
	// VarSkipped counts pairs rejected by the curvature test or for non-finite values.
	VarSkipped = "skipped_pairs"
	// VarNonFinite counts steps whose direction was not finite; the parameters were kept.
	VarNonFinite = "nonfinite_steps"
)

// Counters are the training optimizer's counts so far, as its state variables in store hold
// them (zero for a store the optimizer has not run on).
type Counters struct {
	// Rejected counts pairs rejected by the curvature test or for non-finite values.
	Rejected int
	// NonFinite counts steps not taken because the direction was not finite.
	NonFinite int
}

// ReadCounters returns the counters of the optimizer whose variables are in scope OptimizerScope
// of store.
func ReadCounters(store *model.Store) Counters {
	return Counters{Rejected: readCounter(store, VarSkipped), NonFinite: readCounter(store, VarNonFinite)}
}

func readCounter(store *model.Store, name string) int {
	v := store.GetVariable("/" + OptimizerScope + "/" + name)
	if v == nil {
		return 0
	}
	t, err := v.Value()
	if err != nil || t == nil || !t.Shape().IsScalar() {
		return 0
	}
	switch x := t.Value().(type) {
	case float32:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

// OptimizerConfig configures the L-BFGS training optimizer. Create it with Optimizer, set
// options, and call Done.
//
// One step on a batch, at parameters x_t with gradient g_t (the seed paper's step):
//  1. if there is a previous step, offer the pair s = x_t − x_{t-1} = lr·p_{t-1},
//     y = g_t − g_{t-1} to the history (slotHistory.push: stored if finite and passing the
//     Curvature test, else counted);
//  2. p_t = −H_t·g_t over the stored pairs (the direction: the two-loop recursion), or −g_t
//     with none;
//  3. x_{t+1} = x_t + lr·p_t, unless p_t is not finite (then x is kept and the step counted).
//
// Calling the train step K times on one batch gives the seed's "K inner iterations". The
// history, the previous gradient and step and the counters live in non-trainable variables, so
// a checkpoint carries them and a resumed run continues exactly.
type OptimizerConfig struct {
	m         int
	lr        float64
	gamma     GammaRule
	curvature Curvature
	direction graphDirection
	scopeName string
	errs      []error
}

// Optimizer returns the seed paper's L-BFGS configuration: m = 10, fixed step lr = 0.01 (or
// the store's "learning_rate" parameter), γ from the newest pair, the seed's curvature test
// (SeedCurvature) and the two-loop recursion.
func Optimizer() *OptimizerConfig {
	return &OptimizerConfig{m: DefaultM, lr: -1, curvature: SeedCurvature, direction: twoLoopDirection{}, scopeName: OptimizerScope}
}

// DefaultLearningRate is the fixed step of the seed paper's L-BFGS.
const DefaultLearningRate = 0.01

// M sets the history size (≥ 1).
func (c *OptimizerConfig) M(m int) *OptimizerConfig {
	if m < 1 {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: history size m=%d must be ≥ 1", m))
	}
	c.m = m
	return c
}

// LearningRate sets the fixed step lr > 0.
func (c *OptimizerConfig) LearningRate(lr float64) *OptimizerConfig {
	if !(lr > 0) || math.IsInf(lr, 0) {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: learning rate %g must be finite and > 0", lr))
	}
	c.lr = lr
	return c
}

// Gamma sets the γ rule (GammaNewest, or GammaPaper to reproduce the seed code).
func (c *OptimizerConfig) Gamma(rule GammaRule) *OptimizerConfig {
	if !gammaNames.Valid(rule) {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: unknown γ rule %v", rule))
	}
	c.gamma = rule
	return c
}

// Curvature sets the pair test (default SeedCurvature; DefaultCurvature is History's).
func (c *OptimizerConfig) Curvature(test Curvature) *OptimizerConfig {
	if err := test.check(); err != nil {
		c.errs = append(c.errs, err)
	}
	c.curvature = test
	return c
}

// compact makes the optimizer compute directions by the compact representation instead of the
// two-loop recursion. Not an option for users: measured on the pure-Go backend
// (BenchmarkLBFGSUpdateVsStep, SimpleCNN, m = 10, 20 rounds alternated with a training step,
// compute v0.1.3, quiet machine, 2026-12-02) the update takes 11.6 ms with the two-loop and
// 13.6 ms with the compact form against a 49.5 ms step (update/step 0.23 and 0.27); 8.4 and
// 9.3 ms on v0.1.2 before. Stacking the slots copies the whole history. It stays the tested
// reference (equal to the two-loop up to rounding) for a backend where two matrix products beat
// 4m dependent passes.
func (c *OptimizerConfig) compact(on bool) *OptimizerConfig {
	c.direction = twoLoopDirection{}
	if on {
		c.direction = compactDirection{}
	}
	return c
}

// Scope sets the scope of the optimizer's variables (default OptimizerScope).
func (c *OptimizerConfig) Scope(name string) *OptimizerConfig {
	if name == "" {
		c.errs = append(c.errs, errors.New("lbfgs: empty optimizer scope name"))
	}
	c.scopeName = name
	return c
}

// Done validates the configuration and returns the optimizer.
func (c *OptimizerConfig) Done() (optimizer.Interface, error) {
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &lbfgsOptimizer{cfg: *c}, nil
}

type lbfgsOptimizer struct {
	cfg OptimizerConfig
}

// state is the optimizer's variables: the slot history, per parameter the previous gradient
// and step, and the scalars.
type state struct {
	s, y                     [][]*model.Variable // s[i][j]: slot i of parameter j
	prevGrad, prevStep       []*model.Variable
	rho, yy                  *model.Variable // [m]
	count, hasPrev           *model.Variable
	rejected, nonFiniteSteps *model.Variable
}

// newState finds or creates the state of vars (zeros at first) under the optimizer's scope:
// per parameter <name>_s<i>, <name>_y<i>, <name>_prev_grad, <name>_prev_step in the parameter's
// own scope path; rho, yy and the scalars at the top.
func (o *lbfgsOptimizer) newState(scope *model.Scope, vars []*model.Variable, dtype dtypes.DType) state {
	return newState(scope, o.cfg.scopeName, o.cfg.m, vars, dtype)
}

// newState is lbfgsOptimizer.newState for any scope name and history size m.
func newState(scope *model.Scope, scopeName string, m int, vars []*model.Variable, dtype dtypes.DType) state {
	top := scope.Store().Scope("/" + scopeName).WithInitializer(initializer.Zero)
	vec := func(name string, dims ...int) *model.Variable {
		return top.VariableWithShape(name, shapes.Make(dtype, dims...)).SetTrainable(false)
	}
	st := state{rho: vec("rho", m), yy: vec("yy", m), count: vec(VarCount), hasPrev: vec("has_prev"),
		rejected: vec(VarSkipped), nonFiniteSteps: vec(VarNonFinite), s: make([][]*model.Variable, m), y: make([][]*model.Variable, m)}
	st.prevGrad = perParam(scope, scopeName, vars, dtype, "_prev_grad")
	st.prevStep = perParam(scope, scopeName, vars, dtype, "_prev_step")
	for i := range m {
		st.s[i] = perParam(scope, scopeName, vars, dtype, fmt.Sprintf("_s%d", i))
		st.y[i] = perParam(scope, scopeName, vars, dtype, fmt.Sprintf("_y%d", i))
	}
	return st
}

// perParam finds or creates, for each of vars, a non-trainable zero-initialised variable of its
// shape in dtype, named <name><suffix> under scopeName + the parameter's own scope path.
func perParam(scope *model.Scope, scopeName string, vars []*model.Variable, dtype dtypes.DType, suffix string) []*model.Variable {
	out := make([]*model.Variable, len(vars))
	for j, v := range vars {
		sc := scope.Store().Scope(path.Join("/", scopeName, v.Scope())).WithInitializer(initializer.Zero)
		shape := v.Shape().Clone()
		shape.DType = dtype
		out[j] = sc.VariableWithShape(v.Name()+suffix, shape).SetTrainable(false)
	}
	return out
}

func (o *lbfgsOptimizer) top(scope *model.Scope) *model.Scope {
	return scope.Store().Scope("/" + o.cfg.scopeName).WithInitializer(initializer.Zero)
}

// history reads the slot history's current values.
func (st state) history(g *Graph) *slotHistory {
	h := &slotHistory{m: len(st.s), rho: st.rho.NodeValue(g), yy: st.yy.NodeValue(g), count: st.count.NodeValue(g),
		s: make([][]*Node, len(st.s)), y: make([][]*Node, len(st.y))}
	for i := range st.s {
		for j := range st.s[i] {
			h.s[i] = append(h.s[i], st.s[i][j].NodeValue(g))
			h.y[i] = append(h.y[i], st.y[i][j].NodeValue(g))
		}
	}
	return h
}

// setHistory writes the slot history back.
func (st state) setHistory(h *slotHistory) {
	for i := range st.s {
		for j := range st.s[i] {
			st.s[i][j].SetNodeValue(h.s[i][j])
			st.y[i][j].SetNodeValue(h.y[i][j])
		}
	}
	st.rho.SetNodeValue(h.rho)
	st.yy.SetNodeValue(h.yy)
	st.count.SetNodeValue(h.count)
}

// UpdateGraph implements optimizer.Interface.
func (o *lbfgsOptimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("lbfgs: the optimizer needs a scalar loss, got shape %s", loss.Shape()))
	}
	o.UpdateGraphWithGradients(scope, scope.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients is UpdateGraph with the gradients of the trainable variables given
// (in the order of scope.IterVariables), as GoMLX's gradient-accumulating trainer calls it.
func (o *lbfgsOptimizer) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, dtype dtypes.DType) {
	if len(grads) == 0 {
		panic(errors.New("lbfgs: no trainable variables"))
	}
	g := grads[0].Graph()
	lrValue := o.cfg.lr
	if lrValue <= 0 {
		lrValue = model.GetParamOr(scope, optimizer.ParamLearningRate, DefaultLearningRate)
	}
	lr := optimizer.LearningRateVar(scope, dtype, lrValue).NodeValue(g)
	_ = optimizer.IncrementGlobalStep(g, dtype)
	vars, grads := trainable(scope, g, grads)
	st := o.newState(scope, vars, dtype)
	h := st.history(g)

	// 1. The pair from the previous step.
	gs, sNew, yNew := make([]*Node, len(vars)), make([]*Node, len(vars)), make([]*Node, len(vars))
	for j := range vars {
		gs[j] = ConvertDType(grads[j], dtype)
		sNew[j] = st.prevStep[j].NodeValue(g)
		yNew[j] = Sub(gs[j], st.prevGrad[j].NodeValue(g))
	}
	isPair := GreaterThan(st.hasPrev.NodeValue(g), ScalarZero(g, dtype))
	accept := h.push(sNew, yNew, isPair, o.cfg.curvature)
	rejected := st.rejected.NodeValue(g)
	st.rejected.SetNodeValue(Where(LogicalAnd(isPair, LogicalNot(accept)), AddScalar(rejected, 1), rejected))

	// 2. The direction over the updated history.
	d := o.cfg.direction.direction(o.top(scope), h, gs, accept, o.cfg.gamma)

	// 3. The step, unless it is not finite: then keep x and count the step.
	finite := IsFinite(dotList(d, d))
	for j, v := range vars {
		step := Mul(lr, d[j])
		x := v.NodeValue(g)
		v.SetNodeValue(Where(finite, Add(x, ConvertDType(step, x.DType())), x))
		st.prevStep[j].SetNodeValue(Where(finite, step, ZerosLike(step)))
		st.prevGrad[j].SetNodeValue(gs[j])
	}
	st.setHistory(h)
	// A non-finite step leaves no valid previous step: the next call forms no pair.
	st.hasPrev.SetNodeValue(Where(finite, ScalarOne(g, dtype), ScalarZero(g, dtype)))
	nf := st.nonFiniteSteps.NodeValue(g)
	st.nonFiniteSteps.SetNodeValue(Where(finite, nf, AddScalar(nf, 1)))
}

// trainable returns the trainable variables used by g and their gradients, ordered by path:
// dot products sum over the variables in that order, so that the sums (to the last bit) do not
// depend on the order the store created the variables in (a store restored from a checkpoint
// creates them in another order than a model's first run).
func trainable(scope *model.Scope, g *Graph, grads []*Node) ([]*model.Variable, []*Node) {
	vars := trainvars.Used(scope, g)
	if len(vars) != len(grads) {
		panic(fmt.Errorf("lbfgs: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	sortedVars, sortedGrads := make([]*model.Variable, len(vars)), make([]*Node, len(vars))
	for i, k := range trainvars.ByPath(vars) {
		sortedVars[i], sortedGrads[i] = vars[k], grads[k]
	}
	return sortedVars, sortedGrads
}

// usedTrainableVars returns the trainable variables used by g, ordered by path (as trainable).
func usedTrainableVars(scope *model.Scope, g *Graph) []*model.Variable {
	vars := trainvars.UsedByPath(scope, g)
	if len(vars) == 0 {
		panic(errors.New("lbfgs: no trainable variables"))
	}
	return vars
}

// Clear implements optimizer.Interface: it deletes the optimizer's state (the history).
func (o *lbfgsOptimizer) Clear(scope *model.Scope) error {
	return scope.Store().Scope("/" + o.cfg.scopeName).DeleteVariablesInScope()
}
