package models

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
)

// ChainGradientNorms measures vanishing and exploding gradients (the lecture's 长期依赖 slide,
// ∂y/∂x = ∂f¹/∂x·∂f²/∂f¹⋯): a chain of depth fully connected layers h_l = act(W_l·h_{l−1}),
// width units each, W_l with N(0, gain²/width) entries (gain 1: LeCun's scaling; gain √2 for
// ReLU: He et al. 2015), applied to batch N(0, 1) inputs h_0; y is the mean over the batch of
// Σ h_depth. It returns ‖∂y/∂h_l‖ (Frobenius, over the batch) for l = 0 … depth: entry 0 is the
// gradient at the input, entry depth at the output (there 1/batch per unit). act is "sigmoid",
// "tanh", "relu" or "linear". Float64, by autodiff, from seed.
func ChainGradientNorms(b compute.Backend, act string, depth, width, batch int, gain float64, seed uint64) ([]float64, error) {
	var f func(*Node) *Node
	switch act {
	case "sigmoid":
		f = Sigmoid
	case "tanh":
		f = Tanh
	case "relu":
		f = ReLU
	case "linear":
		f = func(x *Node) *Node { return x }
	default:
		return nil, fmt.Errorf("models: unknown activation %q (want sigmoid, tanh, relu or linear)", act)
	}
	if depth < 1 || width < 1 || batch < 1 || !(gain > 0) || math.IsInf(gain, 0) {
		return nil, fmt.Errorf("models: chain needs depth, width, batch ≥ 1 and a finite gain > 0 (got %d, %d, %d, %g)", depth, width, batch, gain)
	}
	rng := rand.New(rand.NewPCG(seed, 0x636861696e))
	normal := func(n int, std float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = std * rng.NormFloat64()
		}
		return v
	}
	x := tensors.FromFlatDataAndDimensions(normal(batch*width, 1), batch, width)
	ws := tensors.FromFlatDataAndDimensions(normal(depth*width*width, gain/math.Sqrt(float64(width))), depth, width, width)
	defer func() { _, _ = x.FinalizeAll(), ws.FinalizeAll() }()
	exec, err := NewExec(b, func(x, ws *Node) *Node {
		hs := []*Node{x}
		h := x
		for l := range depth {
			w := Reshape(Slice(ws, AxisElem(l)), width, width)
			h = f(MatMul(h, w))
			hs = append(hs, h)
		}
		y := MulScalar(ReduceAllSum(h), 1/float64(batch))
		grads := Gradient(y, hs...)
		norms := make([]*Node, len(grads))
		for i, g := range grads {
			norms[i] = Sqrt(ReduceAllSum(Square(g)))
		}
		return Stack(norms, 0)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out, err := exec.Call(x, ws)
	if err != nil {
		return nil, fmt.Errorf("models: chain of %d %s layers: %w", depth, act, err)
	}
	defer func() { _ = out[0].FinalizeAll() }()
	if out[0].DType() != dtypes.Float64 {
		return nil, fmt.Errorf("models: chain: unexpected dtype %s", out[0].DType())
	}
	return tensors.CopyFlatData[float64](out[0])
}
