package funcs

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// MaxHessianDim is the largest dimension Hessian accepts: its n Hessian-vector products and n×n
// matrix (8·n² bytes; 800 MB at this size) are what Newton-type methods pay per iteration.
const MaxHessianDim = 10000

// HVP writes the Hessian-vector product ∇²f(x)·v into out: the gradient of ∇f(x)·v with x held
// as the variable (Pearlmutter 1994), in float64 by autodiff, compiled on first use. It counts
// as one evaluation in HVPs, not in Evals.
func (e *Evaluator) HVP(x, v, out []float64) error {
	n := e.f.Dim
	if len(x) != n || len(v) != n || len(out) != n {
		return fmt.Errorf("funcs: %s: HVP needs x, v and out of length %d, got %d, %d, %d", e.f.Name, n, len(x), len(v), len(out))
	}
	e.hvpOnce.Do(func() {
		exec, err := graph.NewExec(e.b, func(x, v *graph.Node) *graph.Node {
			g := graph.Gradient(e.f.Graph(x), x)[0]
			return graph.Gradient(graph.ReduceAllSum(graph.Mul(g, v)), x)[0]
		})
		if err == nil {
			exec.WithName("funcs." + e.f.Name + ".hvp")
			s := shapes.Make(dtypes.Float64, n)
			_, err = exec.Compile(s, s)
		}
		e.hvp, e.hvpErr = exec, err
	})
	if e.hvpErr != nil {
		return fmt.Errorf("funcs: compiling %s's Hessian-vector product: %w", e.f.Name, e.hvpErr)
	}
	tx, tv := tensors.FromFlatDataAndDimensions(x, n), tensors.FromFlatDataAndDimensions(v, n)
	res, err := e.hvp.Call(tx, tv)
	_, _ = tx.FinalizeAll(), tv.FinalizeAll()
	if err != nil {
		return fmt.Errorf("funcs: %s's Hessian-vector product: %w", e.f.Name, err)
	}
	e.hvps.Add(1)
	err = tensors.ConstFlatData(res[0], func(hv []float64) { copy(out, hv) })
	_ = res[0].FinalizeAll()
	return err
}

// HVPs returns how many Hessian-vector products HVP has computed.
func (e *Evaluator) HVPs() int { return int(e.hvps.Load()) }

// Hessian returns ∇²f(x), column j the product with the j-th unit vector (n HVPs), made exactly
// symmetric by averaging with its transpose. n must be at most MaxHessianDim.
func (e *Evaluator) Hessian(x []float64) (*mat.SymDense, error) {
	n := e.f.Dim
	if n > MaxHessianDim {
		return nil, fmt.Errorf("funcs: %s has dimension %d: a Hessian is formed only up to n = %d", e.f.Name, n, MaxHessianDim)
	}
	cols := mat.NewDense(n, n, nil)
	unit, col := make([]float64, n), make([]float64, n)
	for j := range n {
		unit[j] = 1
		if err := e.HVP(x, unit, col); err != nil {
			return nil, err
		}
		unit[j] = 0
		cols.SetCol(j, col)
	}
	H := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			H.SetSym(i, j, (cols.At(i, j)+cols.At(j, i))/2)
		}
	}
	return H, nil
}
