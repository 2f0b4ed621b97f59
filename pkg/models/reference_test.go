package models

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
)

// The first workaround layers, kept as the references ConvPool is tested against and for the
// baseline benchmarks: a 3×3 convolution as im2col in NHWC, and a 2×2 max-pool as pairwise
// maxima.

// conv3x3 is a 3×3 convolution with stride 1 and "same" zero padding on NHWC data:
// x [B, H, W, Cin], kernel [3, 3, Cin, Cout] (HWIO, as GoMLX's Convolve) → [B, H, W, Cout];
// out[b,i,j,o] = Σ_{dy,dx,c} x[b, i+dy−1, j+dx−1, c]·kernel[dy,dx,c,o], zero outside the image
// (a cross-correlation, as PyTorch's Conv2d).
//
// It is im2col in plain graph ops, which the pure-Go backend runs much faster than its Convolve:
// a zero border by concatenation (Pad has no gradient there), the 9 shifted windows as Slices
// concatenated on the channel axis ([B·H·W, 9·Cin], in (dy, dx, c) order), and one MatMul with
// the kernel reshaped to [9·Cin, Cout]. SimpleCNN uses the same patches in layouts that spare the
// backend transposes (see SimpleCNN).
func conv3x3(x, kernel *Node) *Node {
	if x.Rank() != 4 {
		panic(fmt.Errorf("models.conv3x3: x must be [B, H, W, C], got %s", x.Shape()))
	}
	d := x.Shape().Dimensions
	b, h, w, cin := d[0], d[1], d[2], d[3]
	if kd := kernel.Shape().Dimensions; kernel.Rank() != 4 || kd[0] != 3 || kd[1] != 3 || kd[2] != cin {
		panic(fmt.Errorf("models.conv3x3: kernel must be [3, 3, %d, Cout], got %s", cin, kernel.Shape()))
	}
	cout := kernel.Shape().Dimensions[3]
	patches := Reshape(patches3x3(x), b*h*w, 9*cin)
	out := MatMul(patches, Reshape(kernel, 9*cin, cout)) // [B·H·W, Cout]
	return Reshape(out, b, h, w, cout)
}

// patches3x3 returns the 3×3 "same" patches (im2col) of x [B, H, W, C]: the 9 windows
// x[b, i+dy−1, j+dx−1, c] (zero outside) concatenated on the channel axis in (dy, dx, c) order,
// [B, H, W, 9·C].
func patches3x3(x *Node) *Node {
	h, w := x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	padded := zeroEdge(zeroEdge(x, 1, true), 1, false)
	padded = zeroEdge(zeroEdge(padded, 2, true), 2, false)
	windows := make([]*Node, 0, 9)
	for dy := range 3 {
		for dx := range 3 {
			windows = append(windows, Slice(padded, AxisRange(), AxisRange(dy, dy+h), AxisRange(dx, dx+w), AxisRange()))
		}
	}
	return Concatenate(windows, 3)
}

// maxPool2 is a 2×2 max-pool with stride 2 on NHWC data: x [B, H, W, C] → [B, H/2, W/2, C] (H and
// W even). It takes the maximum of horizontal pairs, then of vertical pairs, each with the
// semantics of Where(GreaterOrEqual(a, b), a, b) (see firstMax): on ties the first element in
// row-major order wins and receives the whole gradient, as in PyTorch. (ReduceMax over a reshape would spread the gradient
// over ties, which MNIST's flat background has plenty of; the pure-Go backend has no gradient for
// MaxPool.)
func maxPool2(x *Node) *Node {
	d := x.Shape().Dimensions
	if x.Rank() != 4 || d[1]%2 != 0 || d[2]%2 != 0 {
		panic(fmt.Errorf("models.maxPool2: x must be [B, H, W, C] with H and W even, got %s", x.Shape()))
	}
	return pairMax(pairMax(x, 2), 1) // horizontal pairs first: row-major tie-breaking
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
	return firstMax(Slice(x, specs(0)...), Slice(x, specs(1)...))
}
