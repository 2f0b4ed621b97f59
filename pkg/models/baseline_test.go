package models

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// baselineCNN is SimpleCNN as first written, kept for BenchmarkCNNStepBaseline (the "before" of
// the layout work): NHWC throughout, Conv3x3 (patches [B·H·W, 9·Cin] times the HWIO kernel),
// bias added after each convolution, ReLU before pooling, weights [in, out]. It computes the same
// function as SimpleCNN for the same parameter values (up to the layouts of the variables).
func baselineCNN(scope *model.Scope, images *Node) *Node {
	x := checkImages("baselineCNN", images)
	b := x.Shape().Dimensions[0]
	conv := func(scope *model.Scope, x *Node, out int) *Node {
		cin := x.Shape().Dimensions[3]
		s := scope.WithInitializer(torchUniform(scope, 9*cin))
		w := s.VariableWithShape("weights", shapes.Make(x.DType(), 3, 3, cin, out)).NodeValue(x.Graph())
		bias := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
		return Add(Conv3x3(x, w), Reshape(bias, 1, 1, 1, out))
	}
	dense := func(scope *model.Scope, x *Node, out int) *Node {
		in := x.Shape().Dimensions[1]
		s := scope.WithInitializer(torchUniform(scope, in))
		w := s.VariableWithShape("weights", shapes.Make(x.DType(), in, out)).NodeValue(x.Graph())
		bias := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
		return Add(MatMul(x, w), InsertAxes(bias, 0))
	}
	x = MaxPool2(ReLU(conv(scope.In("conv1"), x, 16)))
	x = MaxPool2(ReLU(conv(scope.In("conv2"), x, 32)))
	x = Reshape(x, b, 7*7*32)
	x = ReLU(dense(scope.In("fc1"), x, 128))
	return dense(scope.In("fc2"), x, NumClasses)
}
