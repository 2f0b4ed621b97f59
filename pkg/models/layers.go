package models

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// ConvPool is a 3×3 "same" convolution (a cross-correlation, as PyTorch's Conv2d) followed by a
// 2×2 max-pool whose first maximum wins ties (as PyTorch's, and GoMLX's MaxPool gradient), on a rank-4 x with channels on axis chAxis, 0 ([C, B, H, W]) or 3 ([B, H, W, C]),
// H and W even. kernel is [Cout, 9·C+1]: the weights in (dy, dx, c) order and the bias last, as
// convKernel makes it. The result is channels-first, [Cout, B, H/2, W/2].
//
// It convolves each parity class of output positions (even/odd row × even/odd column) on its own,
// so the four candidates of every pooling window come out of four matrix products already apart:
// the pooling is three pairwise maxima (firstMax) on quarter-size tensors, with none of the strided Slices of
// the convolution's output, nor the Pads and Adds of their gradients. The patches of a parity
// class are windows of the zero-bordered input's four parity planes (every other row and column):
// 16 distinct windows of a quarter of the input each, plus the planes themselves, are 5 inputs'
// worth of Slice where im2col takes 9.
//
// The product is kernel-first ([Cout, 9·C+1] × patches), so the kernel's gradient needs no
// transpose on the pure-Go backend; with chAxis 0 the patches are [9·C+1, B·H/2·W/2] (built by
// concatenating whole blocks), with chAxis 3 they are [B·H/2·W/2, 9·C+1] and the gradient with
// respect to them (hence to x) is a plain product too.
func ConvPool(x *Node, chAxis int, kernel *Node) *Node {
	out, _, _ := convPool(x, chAxis, kernel)
	return out
}

// convPool is ConvPool that also returns its products' pieces: the patches of each parity class
// (positions on axis 1 with chAxis 0, on axis 0 with chAxis 3) and the convolution's outputs
// [Cout, B·H/2·W/2] before the pooling.
func convPool(x *Node, chAxis int, kernel *Node) (out *Node, patchSets, products []*Node) {
	if x.Rank() != 4 || (chAxis != 0 && chAxis != 3) {
		panic(fmt.Errorf("models.ConvPool: x must be rank 4 with channels on axis 0 or 3, got %s, axis %d", x.Shape(), chAxis))
	}
	hAxis := 1 // [B, H, W, C]
	if chAxis == 0 {
		hAxis = 2 // [C, B, H, W]
	}
	d := x.Shape().Dimensions
	c, h, w := d[chAxis], d[hAxis], d[hAxis+1]
	b := x.Shape().Size() / (c * h * w)
	if h%2 != 0 || w%2 != 0 {
		panic(fmt.Errorf("models.ConvPool: spatial dimensions must be even, got %s", x.Shape()))
	}
	if kd := kernel.Shape().Dimensions; kernel.Rank() != 2 || kd[1] != 9*c+1 {
		panic(fmt.Errorf("models.ConvPool: kernel must be [Cout, %d], got %s", 9*c+1, kernel.Shape()))
	}
	cout := kernel.Shape().Dimensions[0]
	h2, w2 := h/2, w/2
	axes := func(rows, cols SliceAxisSpec) []SliceAxisSpec {
		spec := []SliceAxisSpec{AxisRange(), AxisRange(), AxisRange(), AxisRange()}
		spec[hAxis], spec[hAxis+1] = rows, cols
		return spec
	}

	// Parity planes of the zero-bordered input xp [.., H+2, W+2, ..]: plane[ρ][σ] holds
	// xp[2i+ρ, 2j+σ], i ≤ H/2, j ≤ W/2: x's rows 1, 3, … after a zero row for ρ = 0, x's rows 0,
	// 2, … before a zero row for ρ = 1; likewise for columns.
	var plane [2][2]*Node
	for rho := range 2 {
		for sigma := range 2 {
			p := Slice(x, axes(AxisRange(1-rho, h).Stride(2), AxisRange(1-sigma, w).Stride(2))...)
			p = zeroEdge(p, hAxis, rho == 0)
			plane[rho][sigma] = zeroEdge(p, hAxis+1, sigma == 0)
		}
	}
	// window(r, s) = xp[2i+r, 2j+s] for i < H/2, j < W/2, r, s ∈ 0..3: a window of plane[r%2][s%2].
	var window [4][4]*Node
	for r := range 4 {
		for s := range 4 {
			window[r][s] = Slice(plane[r%2][s%2], axes(AxisRange(r/2, r/2+h2), AxisRange(s/2, s/2+w2))...)
		}
	}
	onesDims := x.Shape().Clone().Dimensions
	onesDims[chAxis], onesDims[hAxis], onesDims[hAxis+1] = 1, h2, w2
	ones := Ones(x.Graph(), shapes.Make(x.DType(), onesDims...))

	// Output (2i+py, 2j+px) reads xp[2i+py+dy, 2j+px+dx]: window(py+dy, px+dx).
	var candidates [2][2]*Node
	for py := range 2 {
		for px := range 2 {
			parts := make([]*Node, 0, 10)
			for dy := range 3 {
				for dx := range 3 {
					parts = append(parts, window[py+dy][px+dx])
				}
			}
			patches := Concatenate(append(parts, ones), chAxis)
			if chAxis == 0 {
				patches = Reshape(patches, 9*c+1, b*h2*w2)
				candidates[py][px] = DotGeneral(kernel, []int{1}, nil, patches, []int{0}, nil)
			} else {
				patches = Reshape(patches, b*h2*w2, 9*c+1)
				candidates[py][px] = DotGeneral(kernel, []int{1}, nil, patches, []int{1}, nil)
			}
			patchSets, products = append(patchSets, patches), append(products, candidates[py][px])
		}
	}
	top := firstMax(candidates[0][0], candidates[0][1]) // horizontal pairs first: row-major ties
	bottom := firstMax(candidates[1][0], candidates[1][1])
	return Reshape(firstMax(top, bottom), cout, b, h2, w2), patchSets, products
}

// convLayer is a ConvPool with its own variables (convKernel's, in scope, in → out channels),
// recorded as a Layer if the graph records them (RecordLayers).
func convLayer(scope *model.Scope, x *Node, chAxis, in, out int) *Node {
	kernel, w, bias := convKernel(scope, x.Graph(), x.DType(), in, out)
	y, patches, products := convPool(x, chAxis, kernel)
	inputAxis := 1 // patches [9·C+1, N]
	if chAxis == 3 {
		inputAxis = 0 // patches [N, 9·C+1]
	}
	d := x.Shape().Dimensions
	b := d[1] // [C, B, H, W]
	if chAxis == 3 {
		b = d[0]
	}
	recordLayer(scope, x.Graph(), Layer{Weights: w, Biases: bias, Inputs: patches, Outputs: products,
		InputAxis: inputAxis, OutputAxis: 1, Examples: b, Positions: y.Shape().Size() / (out * b) * 4})
	return y
}

// zeroEdge adds one slice of zeros along axis, before x if atStart, else after.
func zeroEdge(x *Node, axis int, atStart bool) *Node {
	dims := x.Shape().Clone().Dimensions
	dims[axis] = 1
	zeros := Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
	if atStart {
		return Concatenate([]*Node{zeros, x}, axis)
	}
	return Concatenate([]*Node{x, zeros}, axis)
}

// firstMax is max(a, b) with the whole gradient to a on ties, the semantics of
// Where(GreaterOrEqual(a, b), a, b), computed as m·a + (1−m)·b with the 0/1 mask m = [a ≥ b]
// held constant: the same values for finite inputs (an infinite one gives NaN), the same
// gradients (m·v and (1−m)·v), and on the pure-Go backend 3–4× faster than Where, which takes a
// data-dependent branch per element (on random data half of them mispredict).
func firstMax(a, b *Node) *Node {
	m := floatMask(GreaterOrEqual(a, b), a.DType())
	return Add(Mul(m, a), Mul(OneMinus(m), b))
}

// floatMask converts a boolean tensor to a constant (no gradient) 0/1 tensor of dtype. On the
// pure-Go backend it goes through a Bitcast to uint8 (a copy) and a numeric conversion: its
// ConvertDType from bool branches per element.
func floatMask(cond *Node, dtype dtypes.DType) *Node {
	if b := cond.Graph().Backend(); b != nil && b.String() == gobackend.BackendName {
		cond = Bitcast(cond, dtypes.Uint8)
	}
	return StopGradient(ConvertDType(cond, dtype))
}

// ReLU is max(x, 0) with gradient 0 at x = 0 (as PyTorch), computed as x·[x > 0] with the mask
// held constant (see firstMax for why not Where). For finite x it equals Where(x > 0, x, 0);
// NaN stays NaN (as PyTorch) and −Inf gives NaN.
func ReLU(x *Node) *Node {
	return Mul(x, floatMask(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), x.DType()))
}

// torchUniform returns PyTorch's default initializer for the weight and bias of nn.Linear and
// nn.Conv2d: U(−1/√fanIn, 1/√fanIn), drawn from the store's random state (seeded through
// NewStore).
func torchUniform(scope *model.Scope, fanIn int) initializer.VariableInitializer {
	bound := 1 / math.Sqrt(float64(fanIn))
	return initializer.RandomUniformFn(scope, -bound, bound)
}

// Dense is a fully connected layer with PyTorch's default initialization: x [B, in] → [B, out],
// variables "weights" [out, in] (PyTorch's layout, which also spares the pure-Go backend a
// transpose in the gradient) and "biases" [out] in scope.
func Dense(scope *model.Scope, x *Node, out int) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	s := scope.WithInitializer(torchUniform(scope, in))
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), out, in))
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), out))
	y := Add(DotGeneral(x, []int{1}, nil, w.NodeValue(x.Graph()), []int{1}, nil), InsertAxes(b.NodeValue(x.Graph()), 0)) // [B, out]
	recordLayer(scope, x.Graph(), Layer{Weights: w, Biases: b, Inputs: []*Node{x}, Outputs: []*Node{y}, AppendOne: true,
		Examples: x.Shape().Dimensions[0], Positions: 1})
	return y
}

// convKernel returns the variables of a 3×3 convolution layer in scope — "weights"
// [out, 3, 3, in] (PyTorch's [out, in, 3, 3] with the input channels last, to match the patches'
// (dy, dx, c) order) and "biases" [out], PyTorch's default initialization — as one matrix
// [out, 9·in + 1], the bias as the last column, for patches made with a channel of ones; and the
// two variables.
func convKernel(scope *model.Scope, g *Graph, dtype dtypes.DType, in, out int) (kernel *Node, w, b *model.Variable) {
	s := scope.WithInitializer(torchUniform(scope, 9*in))
	w = s.VariableWithShape("weights", shapes.Make(dtype, out, 3, 3, in))
	b = s.VariableWithShape("biases", shapes.Make(dtype, out))
	return Concatenate([]*Node{Reshape(w.NodeValue(g), out, 9*in), Reshape(b.NodeValue(g), out, 1)}, 1), w, b
}
