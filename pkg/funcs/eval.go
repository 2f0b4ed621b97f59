package funcs

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
)

// Evaluator evaluates a Func and its autodiff gradient from host slices in float64, on a graph
// compiled once when the Evaluator is made, or by the Func's plain-Go Host version where it has
// one and the problem is small (Path). It is safe for concurrent use.
type Evaluator struct {
	f     *Func
	b     compute.Backend
	exec  *graph.Exec
	path  backend.Path // Graph or Host
	evals atomic.Int64

	hvpOnce sync.Once // HVP's graph, compiled on first use
	hvp     *graph.Exec
	hvpErr  error
	hvps    atomic.Int64
}

// Evaluator compiles f and ∇f (by graph.Gradient) in float64 on b; if b is nil it uses
// backend.Default().
func (f *Func) Evaluator(b compute.Backend) (*Evaluator, error) {
	if f == nil || f.Graph == nil || f.Dim < 1 {
		return nil, fmt.Errorf("funcs: Evaluator needs a Func with a Graph and Dim ≥ 1")
	}
	b, err := backend.Or(b)
	if err != nil {
		return nil, fmt.Errorf("funcs: %s: %w", f.Name, err)
	}
	exec, err := graph.NewExec(b, func(x *graph.Node) (*graph.Node, *graph.Node) {
		y := f.Graph(x)
		return y, graph.Gradient(y, x)[0]
	})
	if err != nil {
		return nil, fmt.Errorf("funcs: %s: %w", f.Name, err)
	}
	exec.WithName("funcs." + f.Name)
	if _, err := exec.Compile(shapes.Make(dtypes.Float64, f.Dim)); err != nil {
		return nil, fmt.Errorf("funcs: compiling %s and its gradient on %s: %w", f.Name, b.Name(), err)
	}
	e := &Evaluator{f: f, b: b, exec: exec}
	if err := e.SetPath(backend.Auto); err != nil {
		return nil, err
	}
	return e, nil
}

// SetPath chooses where Eval runs: backend.Host (the Func's Host function), backend.Graph, or
// backend.Auto (the default: the host if the Func has one and Dim ≤ backend.HostMaxDim). Set it
// before the Evaluator is shared.
func (e *Evaluator) SetPath(p backend.Path) error {
	switch p {
	case backend.Auto:
		p = backend.Graph
		if e.f.Host != nil {
			p = backend.Auto.Resolve(e.f.Dim)
		}
	case backend.Host:
		if e.f.Host == nil {
			return fmt.Errorf("funcs: %s has no host version", e.f.Name)
		}
	case backend.Graph:
	default:
		return fmt.Errorf("funcs: unknown path %v", p)
	}
	e.path = p
	return nil
}

// RunsOn is where Eval runs: backend.Host or backend.Graph.
func (e *Evaluator) RunsOn() backend.Path { return e.path }

// Func returns the function e evaluates.
func (e *Evaluator) Func() *Func { return e.f }

// Eval returns f(x) and writes ∇f(x) into grad; a nil grad asks for f(x) only. x and a non-nil
// grad must have length Dim. A NaN or ±Inf value or gradient is returned as computed, without
// an error: what to do with it is the caller's decision.
func (e *Evaluator) Eval(x, grad []float64) (float64, error) {
	n := e.f.Dim
	if len(x) != n {
		return 0, fmt.Errorf("funcs: %s: x has length %d, want %d", e.f.Name, len(x), n)
	}
	if grad != nil && len(grad) != n {
		return 0, fmt.Errorf("funcs: %s: grad has length %d, want %d", e.f.Name, len(grad), n)
	}
	if e.path == backend.Host {
		e.evals.Add(1)
		return e.f.Host(x, grad), nil
	}
	in := tensors.FromFlatDataAndDimensions(x, n) // copies x
	out, err := e.exec.Call(in)
	_ = in.FinalizeAll()
	if err != nil {
		return 0, fmt.Errorf("funcs: evaluating %s: %w", e.f.Name, err)
	}
	e.evals.Add(1)
	defer func() {
		for _, t := range out {
			_ = t.FinalizeAll()
		}
	}()
	var fx float64
	err = tensors.ConstFlatData(out[0], func(v []float64) { fx = v[0] })
	if err == nil && grad != nil {
		err = tensors.ConstFlatData(out[1], func(g []float64) { copy(grad, g) })
	}
	if err != nil {
		return 0, fmt.Errorf("funcs: reading %s's result: %w", e.f.Name, err)
	}
	return fx, nil
}

// Evals returns how many times Eval has evaluated f.
func (e *Evaluator) Evals() int { return int(e.evals.Load()) }

// Surface returns f as a function of two variables, for contour plots of a 2-D function: the
// value at (x, y), NaN where the evaluation fails (or if f is not 2-D).
func (e *Evaluator) Surface() func(x, y float64) float64 {
	return func(x, y float64) float64 {
		if e.f.Dim != 2 {
			return math.NaN()
		}
		v, err := e.Eval([]float64{x, y}, nil)
		if err != nil {
			return math.NaN()
		}
		return v
	}
}
