package precond

import (
	"errors"
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/models"
)

// ShampooScope is the default scope of Shampoo's state variables.
const ShampooScope = "shampoo"

// Graft is the optimizer whose step size Shampoo's direction borrows, block by block.
type Graft int

const (
	// GraftAdam takes the norm of Adam's step (its own second moments, bias-corrected).
	GraftAdam Graft = iota + 1
	// GraftSGD takes the norm of the (momentum-filtered) gradient.
	GraftSGD
)

// ParseGraft returns the grafting called name ("adam" or "sgd").
func ParseGraft(name string) (Graft, error) {
	switch name {
	case "adam":
		return GraftAdam, nil
	case "sgd":
		return GraftSGD, nil
	}
	return 0, fmt.Errorf("precond: unknown grafting %q: want adam or sgd", name)
}

func (g Graft) String() string {
	if g == GraftSGD {
		return "sgd"
	}
	return "adam"
}

// ShampooConfig configures Shampoo (Gupta, Koren & Singer 2018) in the form of Distributed
// Shampoo (Shi et al. 2023). Create it with Shampoo, set options, call Done.
//
// Each weight W (a convolution's kernel reshaped to [Cout, 9·Cin]) is cut into blocks of at most
// Block rows and columns (Shi et al.'s max_preconditioner_dim); per block with gradient G_b,
// L_b ← β₂L_b + (1−β₂)G_bG_bᵀ and R_b ← β₂R_b + (1−β₂)G_bᵀG_b. Every RootEvery steps the host
// computes (L̂_b + εI)^{−1/4} and (R̂_b + εI)^{−1/4} (L̂, R̂ bias-corrected) by an
// eigendecomposition. The step preconditions the bias-corrected momentum m̂ (β₁):
// D_b = L̂_b^{−1/4}·m̂_b·R̂_b^{−1/4}, rescaled to the norm of the grafted optimizer's step on the
// block, ‖graft_b‖/‖D_b‖·D_b, and W ← W − η·D. The −1/4 is Shampoo's: for matrix gradients of
// rank ≤ r, Σ g gᵀ ⪯ r·L^{1/2} ⊗ R^{1/2} (Gupta et al. 2018), and (L^{1/2} ⊗ R^{1/2})^{−1/2} =
// L^{−1/4} ⊗ R^{−1/4} acts on vec(G) as L^{−1/4}·G·R^{−1/4}: the two
// quarter powers together play AdaGrad's inverse square root. Biases, and every step before the
// first refresh (Shi et al.'s start_preconditioning_step), take the grafted step itself.
type ShampooConfig struct {
	lr, beta1, beta2, eps, graftEps float64
	block, rootEvery                int
	graft                           Graft
	scopeName                       string
	errs                            []error
}

// Shampoo's defaults: those of Distributed Shampoo (Shi et al. 2023) — β₁ 0.9, β₂ 0.999,
// ε 10⁻¹², Adam grafting with ε 10⁻⁸, roots every 100 steps — except the block size, 256 here
// (theirs: 1024), because the host eigendecompositions grow as its cube (measured in host.go's
// note); the learning rate is ours.
const (
	DefaultShampooLR        = 0.001
	DefaultShampooBeta1     = 0.9
	DefaultShampooBeta2     = 0.999
	DefaultShampooEps       = 1e-12
	DefaultShampooGraftEps  = 1e-8
	DefaultShampooBlock     = 256
	DefaultShampooRootEvery = 100
)

// Shampoo returns Shampoo's default configuration (the constants above, Adam grafting).
func Shampoo() *ShampooConfig {
	return &ShampooConfig{lr: DefaultShampooLR, beta1: DefaultShampooBeta1, beta2: DefaultShampooBeta2, eps: DefaultShampooEps,
		graftEps: DefaultShampooGraftEps, block: DefaultShampooBlock, rootEvery: DefaultShampooRootEvery, graft: GraftAdam,
		scopeName: ShampooScope}
}

func (c *ShampooConfig) fail(format string, a ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, a...))
}

// LearningRate sets η > 0.
func (c *ShampooConfig) LearningRate(lr float64) *ShampooConfig {
	if !(lr > 0) || math.IsInf(lr, 0) {
		c.fail("precond: learning rate %g must be finite and > 0", lr)
	}
	c.lr = lr
	return c
}

// Betas sets β₁ (momentum) and β₂ (statistics and Adam's second moments), each in [0, 1).
func (c *ShampooConfig) Betas(beta1, beta2 float64) *ShampooConfig {
	if !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) {
		c.fail("precond: betas %g, %g must be in [0, 1)", beta1, beta2)
	}
	c.beta1, c.beta2 = beta1, beta2
	return c
}

// Epsilon sets ε > 0 added to L̂ and R̂ before their roots.
func (c *ShampooConfig) Epsilon(eps float64) *ShampooConfig {
	if !(eps > 0) || math.IsInf(eps, 0) {
		c.fail("precond: epsilon %g must be finite and > 0", eps)
	}
	c.eps = eps
	return c
}

// Block sets the largest side of a preconditioned block (≥ 1).
func (c *ShampooConfig) Block(n int) *ShampooConfig {
	if n < 1 {
		c.fail("precond: block size %d must be ≥ 1", n)
	}
	c.block = n
	return c
}

// RootEvery sets the steps between root refreshes T (≥ 1).
func (c *ShampooConfig) RootEvery(n int) *ShampooConfig {
	if n < 1 {
		c.fail("precond: refresh interval %d must be ≥ 1", n)
	}
	c.rootEvery = n
	return c
}

// Graft sets the grafted optimizer.
func (c *ShampooConfig) Graft(g Graft) *ShampooConfig {
	if g != GraftAdam && g != GraftSGD {
		c.fail("precond: unknown grafting %d", g)
	}
	c.graft = g
	return c
}

// Scope sets the scope of the state variables (default ShampooScope).
func (c *ShampooConfig) Scope(name string) *ShampooConfig {
	if name == "" {
		c.fail("precond: empty optimizer scope name")
	}
	c.scopeName = name
	return c
}

// Done validates the configuration and returns the optimizer.
func (c *ShampooConfig) Done() (*ShampooOptimizer, error) {
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &ShampooOptimizer{cfg: *c}, nil
}

// ShampooOptimizer is Shampoo as a GoMLX optimizer (an Optimizer); its state lives in
// non-trainable variables under its scope.
type ShampooOptimizer struct {
	cfg ShampooConfig
}

// ModelFn implements Optimizer (Shampoo needs no layer records; it wraps the model all the same
// so both optimizers train alike).
func (o *ShampooOptimizer) ModelFn(fn models.ModelFn) func(scope *model.Scope, spec any, images *Node) *Node {
	return modelFn(fn)
}

// SpecAt implements Optimizer: every step updates the statistics (one graph).
func (o *ShampooOptimizer) SpecAt(int) any { return nil }

// Due implements Optimizer: every RootEvery steps.
func (o *ShampooOptimizer) Due(step int) bool { return step > 0 && step%o.cfg.rootEvery == 0 }

// Names of Shampoo's scalars (under its scope).
const varShampooRefreshed = "refreshed"

// splits cuts n into ⌈n/block⌉ nearly equal consecutive ranges.
func splits(n, block int) [][2]int {
	k := (n + block - 1) / block
	out := make([][2]int, k)
	for i := range k {
		out[i] = [2]int{i * n / k, (i + 1) * n / k}
	}
	return out
}

// UpdateGraph implements optimizer.Interface.
func (o *ShampooOptimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("precond: Shampoo needs a scalar loss, got %s", loss.Shape()))
	}
	dtype := loss.DType()
	store := scope.Store()
	grads := gradients(scope, g, loss)
	step := ConvertDType(optimizer.IncrementGlobalStep(g, dtype), dtype)
	lr := Scalar(g, dtype, o.cfg.lr)
	b1, b2 := Scalar(g, dtype, o.cfg.beta1), Scalar(g, dtype, o.cfg.beta2)
	corr1 := OneMinus(Pow(b1, step)) // 1 − β₁ᵗ
	corr2 := OneMinus(Pow(b2, step))
	refreshed := GreaterThan(stateVar(store, o.cfg.scopeName, "", varShampooRefreshed, dtype).ValueGraph(g), ScalarZero(g, dtype))
	for _, v := range sortedVars(grads) {
		grad := ConvertDType(grads[v], dtype)
		sv := func(name string, dims ...int) *model.Variable {
			return stateVar(store, o.cfg.scopeName, v.Scope(), v.Name()+"_"+name, dtype, dims...)
		}
		dims := v.Shape().Dimensions
		m := sv("m", dims...)
		mNew := Add(Mul(b1, m.ValueGraph(g)), Mul(OneMinus(b1), grad))
		m.SetValueGraph(mNew)
		mHat := Div(mNew, corr1)
		graft := mHat
		if o.cfg.graft == GraftAdam {
			s := sv("v", dims...)
			sNew := Add(Mul(b2, s.ValueGraph(g)), Mul(OneMinus(b2), Mul(grad, grad)))
			s.SetValueGraph(sNew)
			graft = Div(mHat, AddScalar(Sqrt(Div(sNew, corr2)), o.cfg.graftEps))
		}
		dir := graft
		if len(dims) >= 2 {
			dir = o.blocks(store, g, v, grad, mHat, graft, refreshed, b2)
		}
		x := v.ValueGraph(g)
		v.SetValueGraph(Sub(x, ConvertDType(Mul(lr, dir), x.DType())))
	}
}

// blocks returns Shampoo's grafted direction for the matrix parameter v (rows = its first axis),
// updating its blocks' statistics.
func (o *ShampooOptimizer) blocks(store *model.Store, g *Graph, v *model.Variable, grad, mHat, graft, refreshed, b2 *Node) *Node {
	dims := v.Shape().Dimensions
	rows := dims[0]
	cols := v.Shape().Size() / rows
	dtype := grad.DType()
	gm, mm, fm := Reshape(grad, rows, cols), Reshape(mHat, rows, cols), Reshape(graft, rows, cols)
	var rowParts []*Node
	for i, r := range splits(rows, o.cfg.block) {
		var colParts []*Node
		for j, c := range splits(cols, o.cfg.block) {
			cut := func(x *Node) *Node { return Slice(x, AxisRange(r[0], r[1]), AxisRange(c[0], c[1])) }
			gb, mb, fb := cut(gm), cut(mm), cut(fm)
			name := fmt.Sprintf("%s_%d_%d", v.Name(), i, j)
			sv := func(suffix string, n int) *model.Variable {
				return stateVar(store, o.cfg.scopeName, v.Scope(), name+suffix, dtype, n, n)
			}
			L, R := sv("_L", r[1]-r[0]), sv("_R", c[1]-c[0])
			Lroot, Rroot := sv("_L_root", r[1]-r[0]), sv("_R_root", c[1]-c[0])
			L.SetValueGraph(Add(Mul(b2, L.ValueGraph(g)), Mul(OneMinus(b2), DotGeneral(gb, []int{1}, nil, gb, []int{1}, nil))))
			R.SetValueGraph(Add(Mul(b2, R.ValueGraph(g)), Mul(OneMinus(b2), DotGeneral(gb, []int{0}, nil, gb, []int{0}, nil))))
			d := MatMul(MatMul(Lroot.ValueGraph(g), mb), Rroot.ValueGraph(g))
			norm := func(x *Node) *Node { return Sqrt(ReduceAllSum(Mul(x, x))) }
			// ‖graft_b‖/‖D_b‖·D_b; a zero D_b (a zero block) stays zero.
			scale := Div(norm(fb), Max(norm(d), Scalar(g, dtype, 1e-30)))
			colParts = append(colParts, Where(refreshed, Mul(scale, d), fb))
		}
		rowParts = append(rowParts, Concatenate(colParts, 1))
	}
	return Reshape(Concatenate(rowParts, 0), dims...)
}

// Refresh implements Optimizer: every block's inverse fourth roots, on the host.
func (o *ShampooOptimizer) Refresh(store *model.Store, step int) error {
	type job struct {
		stat, root *model.Variable
		s          *mat.SymDense
		out        *mat.SymDense
	}
	var jobs []*job
	prefix := "/" + o.cfg.scopeName + "/"
	for v := range store.IterVariables() {
		name := v.Name()
		if !strings.HasPrefix(v.Path(), prefix) || !(strings.HasSuffix(name, "_L") || strings.HasSuffix(name, "_R")) {
			continue
		}
		root := store.GetVariable(v.Scope() + "/" + name + "_root")
		if root == nil {
			return fmt.Errorf("precond: Shampoo state %s has no root", v.Path())
		}
		s, err := readSym(v)
		if err != nil {
			return err
		}
		jobs = append(jobs, &job{stat: v, root: root, s: s})
	}
	if len(jobs) == 0 {
		return errors.New("precond: Shampoo refresh before any statistics")
	}
	corr := 1 - math.Pow(o.cfg.beta2, float64(step)) // bias correction of the running averages
	err := parallel(len(jobs), func(i int) (err error) {
		j := jobs[i]
		j.s.ScaleSym(1/corr, j.s)
		j.out, err = HostInverseRoot(j.s, 4, o.cfg.eps)
		return err
	})
	if err != nil {
		return fmt.Errorf("precond: Shampoo refresh after step %d: %w", step, err)
	}
	for _, j := range jobs {
		if err := writeMatrix(j.root, j.out); err != nil {
			return err
		}
	}
	ref := store.GetVariable("/" + o.cfg.scopeName + "/" + varShampooRefreshed)
	if ref == nil {
		return errors.New("precond: Shampoo state has no refresh flag")
	}
	return writeScalar(ref, 1)
}

// Clear implements optimizer.Interface.
func (o *ShampooOptimizer) Clear(scope *model.Scope) error {
	return scope.Store().Scope("/" + o.cfg.scopeName).DeleteVariablesInScope()
}
