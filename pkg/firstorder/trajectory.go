package firstorder

import (
	"fmt"
	"math"
	"path"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
)

// Trajectory is a run of one method on a test function: X[k] is θ after k updates (X[0] the
// start) and F[k] = f(X[k]).
type Trajectory struct {
	Func   string
	Method Method
	Hyper  Hyper
	X      [][]float64
	F      []float64
	// Diverged is true if f or θ stopped being finite; the run ended at that row.
	Diverged bool
}

// Updates returns the number of updates the trajectory holds.
func (tr *Trajectory) Updates() int { return len(tr.F) - 1 }

// Reached returns the first k with F[k] ≤ target, or −1 if none.
func (tr *Trajectory) Reached(target float64) int {
	for k, f := range tr.F {
		if f <= target {
			return k
		}
	}
	return -1
}

// Run applies iters updates of m with hyperparameters h to f from x0 (f.Start if nil), in
// float64 on b (backend.Default() if nil), through the same GoMLX optimizer that trains the
// networks (New): θ is one float64 variable and the loss is f(θ). It stops early, with
// Diverged set, at the first row where f(θ) or θ is not finite.
func Run(b compute.Backend, f *funcs.Func, m Method, h Hyper, x0 []float64, iters int) (*Trajectory, error) {
	if f == nil || f.Graph == nil {
		return nil, fmt.Errorf("firstorder: Run needs a function")
	}
	if x0 == nil {
		x0 = f.Start
	}
	if len(x0) != f.Dim {
		return nil, fmt.Errorf("firstorder: %s: x0 has %d coordinates, want %d", f.Name, len(x0), f.Dim)
	}
	if iters < 0 {
		return nil, fmt.Errorf("firstorder: iters %d must be ≥ 0", iters)
	}
	opt, err := New(m, h)
	if err != nil {
		return nil, err
	}
	if b, err = backend.Or(b); err != nil {
		return nil, err
	}
	store := model.NewStore()
	start := append([]float64(nil), x0...)
	const scopeName = "zoo"
	param := func(scope *model.Scope) *model.Variable {
		return scope.In(scopeName).VariableWithValue("theta", start)
	}
	// One call: evaluate f at the stored point, update, and return θ after the update and f(θ).
	step, err := model.NewExec(b, store, func(scope *model.Scope, g *Graph) (*Node, *Node) {
		v := param(scope)
		opt.UpdateGraph(scope, g, f.Graph(v.NodeValue(g)))
		theta := position(scope, m, h, v, g)
		return theta, f.Graph(theta)
	})
	if err != nil {
		return nil, fmt.Errorf("firstorder: %s on %s: %w", m, f.Name, err)
	}
	ev, err := f.Evaluator(b)
	if err != nil {
		return nil, err
	}
	f0, err := ev.Eval(start, nil)
	if err != nil {
		return nil, err
	}
	tr := &Trajectory{Func: f.Name, Method: m, Hyper: h.Only(m), X: [][]float64{start}, F: []float64{f0}}
	if !finite(f0, start) {
		tr.Diverged = true
		return tr, nil
	}
	for range iters {
		var out []*tensors.Tensor
		if out, err = step.Exec(); err != nil {
			return tr, fmt.Errorf("firstorder: %s on %s, update %d: %w", m, f.Name, len(tr.F), err)
		}
		x := tensors.MustCopyFlatData[float64](out[0])
		fx := tensors.MustCopyFlatData[float64](out[1])[0]
		for _, t := range out {
			t.MustFinalizeAll()
		}
		tr.X, tr.F = append(tr.X, x), append(tr.F, fx)
		if !finite(fx, x) {
			tr.Diverged = true
			break
		}
	}
	return tr, nil
}

// position returns θ for the parameter v inside the update graph, after UpdateGraph: v's new
// value, plus γv for nesterov (see Position).
func position(scope *model.Scope, m Method, h Hyper, v *model.Variable, g *Graph) *Node {
	x := v.NodeValue(g)
	if m != Nesterov {
		return x
	}
	vel := scope.Store().GetVariable(path.Join("/", Scope, m.String(), v.Scope(), v.Name()+"_velocity"))
	if vel == nil {
		panic(fmt.Errorf("firstorder: nesterov state of %s not found", v.Path()))
	}
	return Add(x, MulScalar(vel.NodeValue(g), h.Momentum))
}

func finite(f float64, x []float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
