package models

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Conv3x3 is a 3×3 convolution with stride 1 and "same" zero padding on NHWC data:
// x [B, H, W, Cin], kernel [3, 3, Cin, Cout] (HWIO) → [B, H, W, Cout]; out[b,i,j,o] =
// Σ_{dy,dx,c} x[b, i+dy−1, j+dx−1, c]·kernel[dy,dx,c,o], zero outside the image (a cross-correlation,
// as in PyTorch's Conv2d).
//
// It is im2col in plain graph ops, which the pure-Go backend runs much faster than its Convolve:
// a zero border by concatenation (Pad has no gradient there), the 9 shifted windows as Slices
// concatenated on the channel axis ([B, H, W, 9·Cin], in (dy, dx, c) order), and one MatMul with
// the kernel reshaped to [9·Cin, Cout].
func Conv3x3(x, kernel *Node) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("models.Conv3x3: x must be [B, H, W, C], got %s", x.Shape()))
	}
	b, h, w, cin := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	if kd := kernel.Shape().Dimensions; kernel.Rank() != 4 || kd[0] != 3 || kd[1] != 3 || kd[2] != cin {
		panic(fmt.Sprintf("models.Conv3x3: kernel must be [3, 3, %d, Cout], got %s", cin, kernel.Shape()))
	}
	cout := kernel.Shape().Dimensions[3]
	padded := zeroBorder(x)
	windows := make([]*Node, 0, 9)
	for dy := range 3 {
		for dx := range 3 {
			windows = append(windows, Slice(padded, AxisRange(), AxisRange(dy, dy+h), AxisRange(dx, dx+w), AxisRange()))
		}
	}
	patches := Concatenate(windows, 3)                 // [B, H, W, 9·Cin]
	patches = Reshape(patches, b*h*w, 9*cin)           // [B·H·W, 9·Cin]
	out := MatMul(patches, Reshape(kernel, 9*cin, cout)) // [B·H·W, Cout]
	return Reshape(out, b, h, w, cout)
}

// zeroBorder surrounds the images x [B, H, W, C] by one row/column of zeros: [B, H+2, W+2, C].
// It concatenates zero tensors rather than calling Pad: the pure-Go backend has no gradient for Pad.
func zeroBorder(x *Node) *Node {
	g := x.Graph()
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	row := Zeros(g, shapes.Make(x.DType(), b, 1, w, c))
	x = Concatenate([]*Node{row, x, row}, 1)
	col := Zeros(g, shapes.Make(x.DType(), b, h+2, 1, c))
	return Concatenate([]*Node{col, x, col}, 2)
}

// MaxPool2 is a 2×2 max-pool with stride 2 on NHWC data: x [B, H, W, C] → [B, H/2, W/2, C] (H and
// W even). It takes the maximum of horizontal pairs, then of vertical pairs, each with
// Where(GreaterOrEqual(a, b), a, b): on ties the first (top-left) element wins and receives the
// whole gradient, as in PyTorch. (ReduceMax over a reshape would spread the gradient over ties,
// which MNIST's flat background has plenty of; the pure-Go backend has no gradient for MaxPool.)
func MaxPool2(x *Node) *Node {
	if x.Rank() != 4 || x.Shape().Dimensions[1]%2 != 0 || x.Shape().Dimensions[2]%2 != 0 {
		panic(fmt.Sprintf("models.MaxPool2: x must be [B, H, W, C] with H and W even, got %s", x.Shape()))
	}
	x = pairMax(x, 2)
	return pairMax(x, 1)
}

// pairMax takes the maximum of the pairs (2k, 2k+1) along axis; the first wins ties.
func pairMax(x *Node, axis int) *Node {
	n := x.Shape().Dimensions[axis]
	specs := func(start int) []SliceAxisSpec {
		s := make([]SliceAxisSpec, x.Rank())
		for i := range s {
			s[i] = AxisRange()
		}
		s[axis] = AxisRange(start, n).Stride(2)
		return s
	}
	a := Slice(x, specs(0)...)
	b := Slice(x, specs(1)...)
	return Where(GreaterOrEqual(a, b), a, b)
}

// ReLU is max(x, 0) with gradient 0 at x = 0 (as PyTorch), written as Where(x > 0, x, 0).
func ReLU(x *Node) *Node {
	return Where(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), x, ScalarZero(x.Graph(), x.DType()))
}

// torchUniform returns PyTorch's default initializer for the weight and bias of nn.Linear and
// nn.Conv2d: U(−1/√fanIn, 1/√fanIn), drawn from the store's random state (seeded through
// NewStore).
func torchUniform(scope *model.Scope, fanIn int) initializer.VariableInitializer {
	bound := 1 / math.Sqrt(float64(fanIn))
	return initializer.RandomUniformFn(scope, -bound, bound)
}

// Dense is a fully connected layer with PyTorch's default initialization: x [B, in] → [B, out],
// variables "weights" [in, out] and "biases" [out] in scope.
func Dense(scope *model.Scope, x *Node, out int) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	s := scope.WithInitializer(torchUniform(scope, in))
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), in, out)).NodeValue(x.Graph())
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
	return Add(MatMul(x, w), InsertAxes(b, 0))
}

// ConvLayer is a 3×3 "same" convolution (Conv3x3) plus bias, with PyTorch's default
// initialization: x [B, H, W, Cin] → [B, H, W, out], variables "weights" [3, 3, Cin, out] and
// "biases" [out] in scope.
func ConvLayer(scope *model.Scope, x *Node, out int) *Node {
	cin := x.Shape().Dimensions[3]
	s := scope.WithInitializer(torchUniform(scope, 9*cin))
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), 3, 3, cin, out)).NodeValue(x.Graph())
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
	return Add(Conv3x3(x, w), Reshape(b, 1, 1, 1, out))
}
