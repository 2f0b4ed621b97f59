package firstorder

import (
	"errors"
	"fmt"
	"math"
	"path"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Scope is the store scope of the state variables of the hand-written methods: per parameter
// /firstorder/<method>/<parameter's scope>/<name>_<state>, and /firstorder/<method>/step.
const Scope = "firstorder"

// New returns m as a GoMLX optimizer with hyperparameters h (only m's Params are read; Check
// validates them). Its state lives in non-trainable store variables, so a checkpoint carries it
// and a resumed run continues bit for bit. t counts the optimizer's own updates from 1.
//
// gd and adam are GoMLX's own optimizers, configured to compute exactly the rule in the package
// doc: gd is StochasticGradientDescent().WithDecay(false) (without it, η is divided by √t), adam
// is Adam() with h's β1, β2 and ε (GoMLX computes m̂ and v̂ with 1/(1−βᵗ) and divides by √v̂ + ε,
// Kingma & Ba's Algorithm 1). The others are written here, because GoMLX has no momentum,
// Nesterov, Adagrad, Adadelta or Nadam, its RMSProp bias-corrects E[g²] (Tieleman & Hinton do
// not) and its AdaMax adds ε to u (Kingma & Ba's Algorithm 2 does not). None of them, GoMLX's
// included, zeroes non-finite gradients (GoMLX does only with its clip_nan parameter set, which
// qnlab never sets): a NaN gradient makes a NaN step, and the run stops on its loss.
//
// With h.Clip > 0 the gradients are first rescaled to global norm ≤ Clip (Clipped).
func New(m Method, h Hyper) (optimizer.Interface, error) {
	if err := h.Check(m); err != nil {
		return nil, err
	}
	var opt optimizer.Interface
	switch m {
	case GD:
		opt = optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(h.LR).Done()
	case Adam:
		opt = optimizer.Adam().LearningRate(h.LR).Betas(h.Beta1, h.Beta2).Epsilon(h.Eps).Done()
	default:
		opt = &rule{m: m, h: h.Only(m)}
	}
	if h.Clip > 0 {
		return Clipped(opt, h.Clip)
	}
	return opt, nil
}

// WithGradients is an optimizer that can be given its gradients (GoMLX's SGD and Adam, and this
// package's rules: the interface GoMLX's gradient-accumulating trainer uses).
type WithGradients interface {
	optimizer.Interface
	UpdateGraphWithGradients(scope *model.Scope, grads []*Node, dtype dtypes.DType)
}

// Clipped returns opt with its gradients rescaled to global norm at most maxNorm first,
// g ← g·min(1, maxNorm/‖g‖) over all trainable variables together (Pascanu, Mikolov & Bengio
// 2013, Algorithm 1): the remedy for gradient cliffs the lecture names (梯度截断). An update whose
// gradient is within the norm is bit for bit opt's. GoMLX has only per-element clipping of the
// step (clip_step_by_value), not of the gradient's norm, hence this wrapper.
func Clipped(opt optimizer.Interface, maxNorm float64) (optimizer.Interface, error) {
	inner, ok := opt.(WithGradients)
	if !ok {
		return nil, fmt.Errorf("firstorder: %T cannot be given clipped gradients (no UpdateGraphWithGradients)", opt)
	}
	if !(maxNorm > 0) || math.IsInf(maxNorm, 0) {
		return nil, fmt.Errorf("firstorder: clipping norm %g must be finite and > 0", maxNorm)
	}
	return &clipped{inner: inner, max: maxNorm}, nil
}

type clipped struct {
	inner WithGradients
	max   float64
}

// UpdateGraph implements optimizer.Interface.
func (c *clipped) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	c.UpdateGraphWithGradients(scope, scope.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients clips grads by their global norm and passes them on.
func (c *clipped) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, dtype dtypes.DType) {
	if len(grads) == 0 {
		panic(errors.New("firstorder: no trainable variables"))
	}
	var sq *Node
	for _, gr := range grads {
		s := ConvertDType(ReduceAllSum(Square(gr)), dtypes.Float64)
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	limit := Scalar(norm.Graph(), dtypes.Float64, c.max)
	scale := Where(GreaterThan(norm, limit), Div(limit, norm), OnesLike(norm))
	out := make([]*Node, len(grads))
	for i, gr := range grads {
		out[i] = Where(GreaterThan(norm, limit), Mul(gr, ConvertDType(scale, gr.DType())), gr)
	}
	c.inner.UpdateGraphWithGradients(scope, out, dtype)
}

// Clear implements optimizer.Interface.
func (c *clipped) Clear(scope *model.Scope) error { return c.inner.Clear(scope) }

// rule is a hand-written method: UpdateGraph applies m's rule to every trainable variable.
type rule struct {
	m Method
	h Hyper
}

// UpdateGraph implements optimizer.Interface.
func (o *rule) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("firstorder: %s needs a scalar loss, got shape %s", o.m, loss.Shape()))
	}
	o.UpdateGraphWithGradients(scope, scope.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients is UpdateGraph with the gradients of the trainable variables given in
// the order of scope.IterVariables (as GoMLX's gradient-accumulating trainer calls it).
func (o *rule) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, dtype dtypes.DType) {
	if len(grads) == 0 {
		panic(errors.New("firstorder: no trainable variables"))
	}
	g := grads[0].Graph()
	_ = optimizer.IncrementGlobalStep(g, dtype)
	top := o.top(scope)
	t := optimizer.IncrementCounter(top, g, "step", dtype) // t = 1, 2, …
	var lr *Node
	if o.m != Adadelta {
		lr = optimizer.LearningRateVar(scope, dtype, o.h.LR).NodeValue(g)
	}
	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			panic(fmt.Errorf("firstorder: %d gradients for more trainable variables", len(grads)))
		}
		o.apply(scope, v, ConvertDType(grads[i], v.Shape().DType), lr, t)
		i++
	}
	if i != len(grads) {
		panic(fmt.Errorf("firstorder: %d gradients for %d trainable variables", len(grads), i))
	}
}

func (o *rule) top(scope *model.Scope) *model.Scope {
	return scope.Store().Scope(path.Join("/", Scope, o.m.String())).WithInitializer(initializer.Zero)
}

// state returns v's state variable called name (zeros at first), of v's shape and dtype.
func (o *rule) state(scope *model.Scope, v *model.Variable, name string) *model.Variable {
	sc := scope.Store().Scope(path.Join("/", Scope, o.m.String(), v.Scope())).WithInitializer(initializer.Zero)
	return sc.VariableWithShape(v.Name()+"_"+name, v.Shape().Clone()).SetTrainable(false)
}

// apply builds θ's update for one parameter v with gradient grad; lr is η (nil for adadelta), t
// the update count. The rules are the package doc's table.
func (o *rule) apply(scope *model.Scope, v *model.Variable, grad, lr, t *Node) {
	g := grad.Graph()
	dt := grad.DType()
	c := func(x float64) *Node { return Scalar(g, dt, x) }
	theta := v.NodeValue(g)
	h := o.h
	switch o.m {
	case Momentum:
		// v ← γv + ηg; θ ← θ − v (Polyak 1964; Ruder 2016 eq. 4).
		vel := o.state(scope, v, "velocity")
		next := Add(Mul(c(h.Momentum), vel.NodeValue(g)), Mul(lr, grad))
		vel.SetNodeValue(next)
		v.SetNodeValue(Sub(theta, next))

	case Nesterov:
		// v ← γv + η∇f(θ − γv); θ ← θ − v (Sutskever et al. 2013 eq. 3–4; Ruder 2016 eq. 5).
		// The loss is evaluated at the stored parameters, so they hold the look-ahead point
		// φ = θ − γv, and grad is ∇f(φ). From θ' = θ − v' it follows
		// φ' = θ' − γv' = φ + γv − (1 + γ)v' (Bengio, Boulanger-Lewandowski & Pascanu 2013,
		// eq. 7); Position recovers θ = φ + γv.
		vel := o.state(scope, v, "velocity")
		old := vel.NodeValue(g)
		gamma := c(h.Momentum)
		next := Add(Mul(gamma, old), Mul(lr, grad))
		vel.SetNodeValue(next)
		v.SetNodeValue(Sub(Add(theta, Mul(gamma, old)), Mul(c(1+h.Momentum), next)))

	case Adagrad:
		// G ← G + g⊙g; θ ← θ − ηg/√(G + ε) (Duchi, Hazan & Singer 2011; Ruder 2016 eq. 8).
		acc := o.state(scope, v, "sum_squares")
		G := Add(acc.NodeValue(g), Square(grad))
		acc.SetNodeValue(G)
		v.SetNodeValue(Sub(theta, Div(Mul(lr, grad), Sqrt(Add(G, c(h.Eps))))))

	case Adadelta:
		// E_g ← γE_g + (1−γ)g²; Δ ← −√(E_Δ + ε)/√(E_g + ε) ⊙ g; E_Δ ← γE_Δ + (1−γ)Δ²; θ ← θ + Δ
		// (Zeiler 2012, Algorithm 1; Ruder 2016 eq. 14; no η).
		eg, ed := o.state(scope, v, "avg_sq_grad"), o.state(scope, v, "avg_sq_delta")
		gamma, rest := c(h.Decay), c(1-h.Decay)
		Eg := Add(Mul(gamma, eg.NodeValue(g)), Mul(rest, Square(grad)))
		EdOld := ed.NodeValue(g)
		delta := Neg(Mul(Div(Sqrt(Add(EdOld, c(h.Eps))), Sqrt(Add(Eg, c(h.Eps)))), grad))
		eg.SetNodeValue(Eg)
		ed.SetNodeValue(Add(Mul(gamma, EdOld), Mul(rest, Square(delta))))
		v.SetNodeValue(Add(theta, delta))

	case RMSProp:
		// E_g ← γE_g + (1−γ)g²; θ ← θ − ηg/√(E_g + ε) (Tieleman & Hinton 2012, lecture 6e;
		// Ruder 2016 eq. 16).
		eg := o.state(scope, v, "avg_sq_grad")
		Eg := Add(Mul(c(h.Decay), eg.NodeValue(g)), Mul(c(1-h.Decay), Square(grad)))
		eg.SetNodeValue(Eg)
		v.SetNodeValue(Sub(theta, Div(Mul(lr, grad), Sqrt(Add(Eg, c(h.Eps))))))

	case AdaMax:
		// m ← β1m + (1−β1)g; u ← max(β2u, |g|); θ ← θ − η/(1−β1ᵗ)·m/u (Kingma & Ba 2015,
		// Algorithm 2; Ruder 2016 eq. 21). Where u = 0 every gradient so far was 0, so m = 0 and
		// the step is 0 (the rule's limit; 0/0 would be NaN).
		mv, uv := o.state(scope, v, "m"), o.state(scope, v, "u")
		m := Add(Mul(c(h.Beta1), mv.NodeValue(g)), Mul(c(1-h.Beta1), grad))
		u := Max(Mul(c(h.Beta2), uv.NodeValue(g)), Abs(grad))
		mv.SetNodeValue(m)
		uv.SetNodeValue(u)
		zero := ZerosLike(u)
		positive := GreaterThan(u, zero)
		ratio := Where(positive, Div(m, Where(positive, u, OnesLike(u))), zero)
		v.SetNodeValue(Sub(theta, Mul(Div(lr, OneMinus(Pow(c(h.Beta1), t))), ratio)))

	case Nadam:
		// m, v, m̂, v̂ as in Adam; θ ← θ − η/(√v̂ + ε)·(β1m̂ + (1−β1)g/(1−β1ᵗ))
		// (Dozat 2016, Algorithm 2 with constant β1; Ruder 2016 eq. 23).
		mv, vv := o.state(scope, v, "m"), o.state(scope, v, "v")
		b1, b2 := c(h.Beta1), c(h.Beta2)
		m := Add(Mul(b1, mv.NodeValue(g)), Mul(c(1-h.Beta1), grad))
		s := Add(Mul(b2, vv.NodeValue(g)), Mul(c(1-h.Beta2), Square(grad)))
		mv.SetNodeValue(m)
		vv.SetNodeValue(s)
		debias1 := OneMinus(Pow(b1, t))
		mHat, vHat := Div(m, debias1), Div(s, OneMinus(Pow(b2, t)))
		look := Add(Mul(b1, mHat), Div(Mul(c(1-h.Beta1), grad), debias1))
		v.SetNodeValue(Sub(theta, Div(Mul(lr, look), Add(Sqrt(vHat), c(h.Eps)))))

	default:
		panic(fmt.Errorf("firstorder: %s is not a hand-written rule", o.m))
	}
}

// Clear implements optimizer.Interface: it deletes the method's state.
func (o *rule) Clear(scope *model.Scope) error {
	return scope.Store().Scope(path.Join("/", Scope, o.m.String())).DeleteVariablesInScope()
}

// Position returns θ for a parameter whose stored value is x: x for every method but nesterov,
// whose variables hold the look-ahead point θ − γv (see New), so θ = x + γv with v its
// "velocity" state. store is the store the optimizer ran on, variable the parameter's path (as
// model.Variable.Path gives it). It reads host values; for a nesterov parameter without state
// (no update yet) θ = x.
func Position(m Method, h Hyper, store *model.Store, variable string) ([]float64, error) {
	v := store.GetVariable(variable)
	if v == nil {
		return nil, fmt.Errorf("firstorder: no variable %q in the store", variable)
	}
	x, err := flat(v)
	if err != nil {
		return nil, err
	}
	if m != Nesterov {
		return x, nil
	}
	vel := store.GetVariable(path.Join("/", Scope, m.String(), v.Scope(), v.Name()+"_velocity"))
	if vel == nil {
		return x, nil
	}
	u, err := flat(vel)
	if err != nil {
		return nil, err
	}
	for i := range x {
		x[i] += h.Momentum * u[i]
	}
	return x, nil
}

// flat returns v's value as float64s.
func flat(v *model.Variable) ([]float64, error) {
	t, err := v.Value()
	if err == nil {
		switch t.DType() {
		case dtypes.Float64:
			return tensors.CopyFlatData[float64](t)
		case dtypes.Float32:
			var f32 []float32
			if f32, err = tensors.CopyFlatData[float32](t); err == nil {
				out := make([]float64, len(f32))
				for i, f := range f32 {
					out[i] = float64(f)
				}
				return out, nil
			}
		default:
			err = fmt.Errorf("dtype %s is not float32 or float64", t.DType())
		}
	}
	return nil, fmt.Errorf("firstorder: reading %s: %w", v.Path(), err)
}
