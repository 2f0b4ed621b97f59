package models

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
)

func shapesOf(dtype dtypes.DType, dims ...int) shapes.Shape { return shapes.Make(dtype, dims...) }

// convolveSame is GoMLX's own 3×3 "same" convolution (NHWC, HWIO kernel), the reference for conv3x3.
func convolveSame(x, kernel *Node) *Node {
	return Convolve(x, kernel).PadSame().Done()
}
