package lbfgs

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
)

// toyModel has two float64 variables, /one/a [3] and /two/b [2, 2], and the non-quadratic loss
// f(x) = Σ ½·D_i(x_i − c_i)² + 0.1·Σ x_i⁴ over their 7 coordinates.
var (
	toyD = []float64{1, 2, 3, 4, 5, 6, 7}
	toyC = []float64{1, -1, 2, 0.5, -2, 1, 3}
)

func toyLoss(scope *model.Scope, g *Graph) *Node {
	a := scope.In("one").VariableWithValue("a", []float64{0.3, -0.2, 0.1}).NodeValue(g)
	b := scope.In("two").VariableWithValue("b", [][]float64{{0.5, 0.4}, {-0.1, 0.2}}).NodeValue(g)
	x := Concatenate([]*Node{a, Reshape(b, 4)}, 0)
	diff := Sub(x, Const(g, toyC))
	return Add(MulScalar(ReduceAllSum(Mul(Const(g, toyD), Mul(diff, diff))), 0.5), MulScalar(ReduceAllSum(Mul(Mul(x, x), Mul(x, x))), 0.1))
}

func toyGrad(x []float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		g[i] = toyD[i]*(x[i]-toyC[i]) + 0.4*x[i]*x[i]*x[i]
	}
	return g
}

// toyParams reads the 7 coordinates (a then b) from the store.
func toyParams(t *testing.T, store *model.Store) []float64 {
	t.Helper()
	a := tensors.MustCopyFlatData[float64](store.Scope("/one").GetVariable("a").MustValue())
	b := tensors.MustCopyFlatData[float64](store.Scope("/two").GetVariable("b").MustValue())
	return append(a, b...)
}

// storedHistory rebuilds the optimizer's history from its variables as a History, oldest first.
func storedHistory(t *testing.T, store *model.Store, m int) *History {
	t.Helper()
	read := func(scope, name string) []float64 {
		return tensors.MustCopyFlatData[float64](store.Scope(scope).GetVariable(name).MustValue())
	}
	count := int(read("/"+OptimizerScope, VarCount)[0])
	h := &History{M: m, Eps: 1e-300}
	for i := m - count; i < m; i++ {
		s := append(read("/lbfgs/one", fmt.Sprintf("a_s%d", i)), read("/lbfgs/two", fmt.Sprintf("b_s%d", i))...)
		y := append(read("/lbfgs/one", fmt.Sprintf("a_y%d", i)), read("/lbfgs/two", fmt.Sprintf("b_y%d", i))...)
		if err := h.Push(s, y); err != nil {
			t.Fatalf("stored pair %d: %v", i, err)
		}
	}
	return h
}

// TestOptimizerDirectionEqualsKernel: every step the optimizer takes is lr·d with d the
// kernel's direction over the pairs the optimizer stored, and the stored pairs are
// (x_t − x_{t−1}, ∇f(x_t) − ∇f(x_{t−1})).
func TestOptimizerDirectionEqualsKernel(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) { testOptimizerDirection(t, compact) })
	}
}

func testOptimizerDirection(t *testing.T, compact bool) {
	const m, lr = 3, 0.05
	opt, err := Optimizer().M(m).LearningRate(lr).compact(compact).Done()
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustDefault(), store, func(scope *model.Scope, g *Graph) *Node {
		loss := toyLoss(scope, g)
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	k := testKernel(t, dtypes.Float64)
	var xPrev []float64
	for step := range 8 {
		if step == 0 {
			_ = exec.MustExec() // initialises the variables, takes step 0
			xPrev = nil
		}
		x := toyParams(t, store)
		exec.MustExec()
		xNext := toyParams(t, store)
		h := storedHistory(t, store, m)
		if want := min(step+1, m); step > 0 && h.Len() != want {
			t.Errorf("step %d: %d stored pairs, want %d", step, h.Len(), want)
		}
		want, _, err := k.Direction(h, toyGrad(x))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(x))
		for i := range x {
			got[i] = (xNext[i] - x[i]) / lr
		}
		if e := relErr(got, want); e > 1e-12 {
			t.Errorf("step %d: optimizer direction vs kernel: relative error %.3g", step, e)
		}
		if h.Len() > 0 && xPrev != nil {
			newest := h.Pairs()[h.Len()-1]
			gx, gp := toyGrad(x), toyGrad(xPrev)
			for i := range x {
				if math.Abs(newest.S[i]-(x[i]-xPrev[i])) > 1e-14 || math.Abs(newest.Y[i]-(gx[i]-gp[i])) > 1e-12 {
					t.Fatalf("step %d: newest pair is not (x_t − x_{t−1}, g_t − g_{t−1}) at %d", step, i)
				}
			}
		}
		xPrev = x
	}
}

// TestOptimizerDecreasesLoss runs the seed settings on the toy loss: after 200 steps the gap
// to the minimum (found with Minimize) shrinks by 1000×.
func TestOptimizerDecreasesLoss(t *testing.T) {
	fx := ObjectiveFunc(func(x, g []float64) (float64, error) {
		f := 0.0
		copy(g, toyGrad(x))
		for i := range x {
			f += 0.5*toyD[i]*(x[i]-toyC[i])*(x[i]-toyC[i]) + 0.1*x[i]*x[i]*x[i]*x[i]
		}
		return f, nil
	})
	best, err := Minimize(fx, make([]float64, 7), Method{}, Settings{GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []GammaRule{GammaNewest, GammaPaper} {
		opt, err := Optimizer().LearningRate(0.1).Gamma(rule).Done()
		if err != nil {
			t.Fatal(err)
		}
		store := model.NewStore()
		exec := model.MustNewExec(backend.MustDefault(), store, func(scope *model.Scope, g *Graph) *Node {
			loss := toyLoss(scope, g)
			opt.UpdateGraph(scope, g, loss)
			return loss
		})
		first := exec.MustExec()[0].Value().(float64)
		var last float64
		for range 200 {
			last = exec.MustExec()[0].Value().(float64)
		}
		t.Logf("γ %v: loss − f* %.4g → %.4g after 200 steps", rule, first-best.F, last-best.F)
		if !(last-best.F < 1e-3*(first-best.F)) {
			t.Errorf("γ %v: loss %g → %g", rule, first, last)
		}
		if gs := optimizer.GetGlobalStep(store); gs != 201 {
			t.Errorf("global step %d, want 201", gs)
		}
	}
}

// TestOptimizerNonFiniteGradientKeepsParams: a NaN loss gives a NaN gradient; the step is
// skipped, counted, and no pair is formed from it.
func TestOptimizerNonFiniteGradientKeepsParams(t *testing.T) {
	opt, _ := Optimizer().LearningRate(0.1).Done()
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustDefault(), store, func(scope *model.Scope, poison *Node) *Node {
		// ∇ of f·(1 + poison) is NaN everywhere when poison is NaN.
		loss := Mul(toyLoss(scope, poison.Graph()), OnePlus(poison))
		opt.UpdateGraph(scope, poison.Graph(), loss)
		return loss
	})
	exec.MustExec(0.0)
	exec.MustExec(0.0)
	before := toyParams(t, store)
	exec.MustExec(math.NaN())
	after := toyParams(t, store)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("parameter %d changed on a NaN gradient: %g → %g", i, before[i], after[i])
		}
	}
	read := func(name string) float64 {
		return store.Scope("/" + OptimizerScope).GetVariable(name).MustValue().Value().(float64)
	}
	if read(VarNonFinite) != 1 {
		t.Errorf("%s = %g, want 1", VarNonFinite, read(VarNonFinite))
	}
	countBefore := read(VarCount)
	exec.MustExec(0.0) // no pair from the skipped step
	if read(VarCount) != countBefore {
		t.Errorf("a pair was formed across the skipped step")
	}
	for _, v := range toyParams(t, store) {
		if math.IsNaN(v) {
			t.Fatal("NaN in parameters")
		}
	}
}

func TestOptimizerBadOptions(t *testing.T) {
	for name, c := range map[string]*OptimizerConfig{
		"m=0":      Optimizer().M(0),
		"lr=0":     Optimizer().LearningRate(0),
		"lr=NaN":   Optimizer().LearningRate(math.NaN()),
		"eps<0":    Optimizer().Curvature(Curvature{Eps: -1}),
		"γ rule":   Optimizer().Gamma(GammaRule(9)),
		"no scope": Optimizer().Scope(""),
	} {
		if _, err := c.Done(); err == nil || !strings.HasPrefix(err.Error(), "lbfgs:") {
			t.Errorf("%s: Done() error = %v", name, err)
		}
	}
	if _, err := ParseGammaRule("oldest"); err == nil {
		t.Error("ParseGammaRule accepted oldest")
	}
}
