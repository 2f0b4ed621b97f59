package lbfgs

import (
	"errors"
	"fmt"
	"math"
	"path"
	"sort"

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
//  1. if there is a previous step, form the pair s = x_t − x_{t-1} = lr·p_{t-1},
//     y = g_t − g_{t-1}, and store it if it passes the curvature test and is finite;
//  2. p_t = −H_t·g_t by the two-loop recursion over the stored pairs (MaskedDirection), or −g_t
//     with none;
//  3. x_{t+1} = x_t + lr·p_t.
//
// Calling the train step K times on one batch gives the seed's "K inner iterations". The
// history (S and Y as [m, …] per parameter, ρ, the count), the previous gradient and step live
// in non-trainable variables, so a checkpoint carries them and a resumed run continues exactly.
type OptimizerConfig struct {
	m           int
	compact     bool
	lr          float64
	gamma       GammaRule
	eps         float64
	relativeEps bool
	scopeName   string
	errs        []error
}

// Optimizer returns the seed paper's L-BFGS configuration: m = 10, fixed step lr = 0.01 (or
// the store's "learning_rate" parameter), γ from the newest pair, and pairs with yᵀs ≤ 1e-10
// skipped.
func Optimizer() *OptimizerConfig {
	return &OptimizerConfig{m: DefaultM, lr: -1, eps: 1e-10, scopeName: OptimizerScope}
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
	if rule != GammaNewest && rule != GammaPaper {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: unknown γ rule %v", rule))
	}
	c.gamma = rule
	return c
}

// Curvature sets the pair test: yᵀs > eps (relative false, the seed's rule with eps = 1e-10)
// or yᵀs > eps·‖s‖‖y‖ (relative true, as History).
func (c *OptimizerConfig) Curvature(eps float64, relative bool) *OptimizerConfig {
	if !(eps >= 0) || math.IsInf(eps, 0) {
		c.errs = append(c.errs, fmt.Errorf("lbfgs: curvature threshold %g must be finite and ≥ 0", eps))
	}
	c.eps, c.relativeEps = eps, relative
	return c
}

// Compact makes the optimizer compute directions by the compact representation
// (CompactDirection) instead of the two-loop recursion (MaskedDirection, the default). The two
// are equal up to rounding (tested). Measured on the pure-Go backend for SimpleCNN (m = 10,
// BenchmarkLBFGSUpdateVsStep), the two-loop is the faster here: the compact form must stack the
// history slots into one matrix per parameter (a copy of all 2m·d numbers) before its two
// matrix products, while the two-loop's DotGeneral dots and axpys read the slots in place.
func (c *OptimizerConfig) Compact(on bool) *OptimizerConfig {
	c.compact = on
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
	cfg := *c
	return &lbfgsOptimizer{cfg: cfg}, nil
}

type lbfgsOptimizer struct {
	cfg OptimizerConfig
}

// perVariable holds the optimizer's state for one trainable variable: the history slots (one
// variable per slot, oldest first, so that shifting the history renames buffers instead of
// copying them), the previous gradient and the previous step.
type perVariable struct {
	s, y               []*model.Variable
	prevGrad, prevStep *model.Variable
}

func (o *lbfgsOptimizer) stateOf(scope *model.Scope, v *model.Variable, dtype dtypes.DType) perVariable {
	sc := scope.Store().Scope(path.Join("/", o.cfg.scopeName, v.Scope())).WithInitializer(initializer.Zero)
	shape := v.Shape().Clone()
	shape.DType = dtype
	mk := func(name string) *model.Variable {
		return sc.VariableWithShape(name, shape).SetTrainable(false)
	}
	st := perVariable{prevGrad: mk(v.Name() + "_prev_grad"), prevStep: mk(v.Name() + "_prev_step")}
	for i := range o.cfg.m {
		st.s = append(st.s, mk(fmt.Sprintf("%s_s%d", v.Name(), i)))
		st.y = append(st.y, mk(fmt.Sprintf("%s_y%d", v.Name(), i)))
	}
	return st
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
	m := o.cfg.m
	lrValue := o.cfg.lr
	if lrValue <= 0 {
		lrValue = model.GetParamOr(scope, optimizer.ParamLearningRate, DefaultLearningRate)
	}
	lr := optimizer.LearningRateVar(scope, dtype, lrValue).NodeValue(g)
	_ = optimizer.IncrementGlobalStep(g, dtype)

	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) != len(grads) {
		panic(fmt.Errorf("lbfgs: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	// Dot products sum over the variables; fix their order by path, so that the sums (to the last
	// bit) do not depend on the order the store created the variables in (a store restored from
	// a checkpoint creates them in another order than a model's first run).
	order := make([]int, len(vars))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return vars[order[a]].Path() < vars[order[b]].Path() })
	sortedVars, sortedGrads := make([]*model.Variable, len(vars)), make([]*Node, len(vars))
	for i, k := range order {
		sortedVars[i], sortedGrads[i] = vars[k], grads[k]
	}
	vars, grads = sortedVars, sortedGrads
	top := scope.Store().Scope("/" + o.cfg.scopeName).WithInitializer(initializer.Zero)
	scalar := func(name string) *model.Variable {
		return top.VariableWithShape(name, shapes.Make(dtype)).SetTrainable(false)
	}
	rhoVar := top.VariableWithShape("rho", shapes.Make(dtype, m)).SetTrainable(false)
	yyVar := top.VariableWithShape("yy", shapes.Make(dtype, m)).SetTrainable(false) // y_iᵀy_i per slot
	syVar := top.VariableWithShape("SY", shapes.Make(dtype, m, m)).SetTrainable(false)
	gramYYVar := top.VariableWithShape("YY", shapes.Make(dtype, m, m)).SetTrainable(false)
	countVar, hasPrevVar := scalar(VarCount), scalar("has_prev")
	skippedVar, nonFiniteVar := scalar(VarSkipped), scalar(VarNonFinite)

	state := make([]perVariable, len(vars))
	gs := make([]*Node, len(vars))
	sNew, yNew := make([]*Node, len(vars)), make([]*Node, len(vars))
	S, Y := make([][]*Node, m), make([][]*Node, m) // S[i][j]: slot i of variable j
	for j, v := range vars {
		state[j] = o.stateOf(scope, v, dtype)
		gs[j] = ConvertDType(grads[j], dtype)
		sNew[j] = state[j].prevStep.NodeValue(g)
		yNew[j] = Sub(gs[j], state[j].prevGrad.NodeValue(g))
		for i := range m {
			S[i] = append(S[i], state[j].s[i].NodeValue(g))
			Y[i] = append(Y[i], state[j].y[i].NodeValue(g))
		}
	}
	rho, count, hasPrev := rhoVar.NodeValue(g), countVar.NodeValue(g), hasPrevVar.NodeValue(g)
	zero, one := ScalarZero(g, dtype), ScalarOne(g, dtype)

	// 1. The pair from the previous step: accept if finite and yᵀs passes the curvature test.
	ys, ss, yy := dotList(yNew, sNew), dotList(sNew, sNew), dotList(yNew, yNew)
	threshold := Const(g, shapes.CastAsDType(o.cfg.eps, dtype))
	if o.cfg.relativeEps {
		threshold = Mul(threshold, Sqrt(Mul(ss, yy)))
	}
	finitePair := LogicalAnd(LogicalAnd(IsFinite(ys), IsFinite(ss)), IsFinite(yy))
	isPair := GreaterThan(hasPrev, zero)
	accept := LogicalAnd(LogicalAnd(isPair, finitePair), GreaterThan(ys, threshold))
	// Shift the slots by one and put the new pair last. Where with a scalar condition passes
	// whole buffers through, so this moves no data.
	shift := func(slots [][]*Node, newest []*Node) [][]*Node {
		out := make([][]*Node, m)
		for i := range m {
			next := newest
			if i+1 < m {
				next = slots[i+1]
			}
			out[i] = make([]*Node, len(vars))
			for j := range vars {
				out[i][j] = Where(accept, next[j], slots[i][j])
			}
		}
		return out
	}
	S, Y = shift(S, sNew), shift(Y, yNew)
	rho = Where(accept, shiftIn(rho, Reciprocal(Where(accept, ys, one))), rho)
	yyDiag := Where(accept, shiftIn(yyVar.NodeValue(g), yy), yyVar.NodeValue(g))
	yyVar.SetNodeValue(yyDiag)
	count = Where(accept, Min(AddScalar(count, 1), ConstAs(count, m)), count)
	skipped := Where(LogicalAnd(isPair, LogicalNot(accept)), AddScalar(skippedVar.NodeValue(g), 1), skippedVar.NodeValue(g))

	// 2. The direction over the updated history.
	var d []*Node
	if !o.cfg.compact {
		// γ from the stored sᵀy = 1/ρ and yᵀy of the slots: no extra pass over the history.
		sy := Where(GreaterThan(rho, ZerosLike(rho)), Reciprocal(Where(GreaterThan(rho, ZerosLike(rho)), rho, OnesLike(rho))), ZerosLike(rho))
		gamma := gammaFromGram(sy, yyDiag, count, m, o.cfg.gamma)
		rhos := make([]*Node, m)
		for i := range m {
			rhos[i] = Squeeze(Slice(rho, AxisElem(i)), 0)
		}
		d = twoLoopWith(gs, S, Y, rhos, gamma).d
	} else {
		var SY, YY *Node
		d, _, SY, YY = CompactDirection(gs, S, Y, syVar.NodeValue(g), gramYYVar.NodeValue(g), count, accept, o.cfg.gamma)
		syVar.SetNodeValue(SY)
		gramYYVar.SetNodeValue(YY)
	}

	// 3. The step, unless it is not finite: then keep x and count the step.
	finiteStep := IsFinite(dotList(d, d))
	for j, v := range vars {
		step := Mul(lr, d[j])
		x := v.NodeValue(g)
		v.SetNodeValue(Where(finiteStep, Add(x, ConvertDType(step, x.DType())), x))
		state[j].prevStep.SetNodeValue(Where(finiteStep, step, ZerosLike(step)))
		state[j].prevGrad.SetNodeValue(gs[j])
		for i := range m {
			state[j].s[i].SetNodeValue(S[i][j])
			state[j].y[i].SetNodeValue(Y[i][j])
		}
	}
	rhoVar.SetNodeValue(rho)
	countVar.SetNodeValue(count)
	skippedVar.SetNodeValue(skipped)
	// A non-finite step leaves no valid previous step: the next call forms no pair.
	hasPrevVar.SetNodeValue(Where(finiteStep, one, zero))
	nonFiniteVar.SetNodeValue(Where(finiteStep, nonFiniteVar.NodeValue(g), AddScalar(nonFiniteVar.NodeValue(g), 1)))
}

// shiftIn drops the oldest entry of h [m] and appends x as the newest (for the small ρ vector).
func shiftIn(h, row *Node) *Node {
	m := h.Shape().Dimensions[0]
	if m == 1 {
		return ExpandAxes(row, 0)
	}
	return Concatenate([]*Node{Slice(h, AxisRange(1, m)), ExpandAxes(row, 0)}, 0)
}

// Clear implements optimizer.Interface: it deletes the optimizer's state (the history).
func (o *lbfgsOptimizer) Clear(scope *model.Scope) error {
	return scope.Store().Scope("/" + o.cfg.scopeName).DeleteVariablesInScope()
}
