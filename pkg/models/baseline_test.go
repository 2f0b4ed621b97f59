package models

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// baselineCNN is SimpleCNN as first written, kept for BenchmarkCNNStepBaseline (the "before" of
// the layout work): NHWC throughout, conv3x3 (patches [B·H·W, 9·Cin] times the HWIO kernel),
// bias added after each convolution, ReLU before pooling, ReLU and pooling with Where, weights
// [in, out]. It computes the same function as SimpleCNN for the same parameter values (up to the
// layouts of the variables). (The package's DotGeneral gradient without identity transposes
// applies to it too: the first commit of this graph measured slower than this benchmark does.)
func baselineCNN(scope *model.Scope, images *Node) *Node {
	relu := func(x *Node) *Node {
		zero := ScalarZero(x.Graph(), x.DType())
		return Where(GreaterThan(x, zero), x, zero)
	}
	pairMax := func(x *Node, axis int) *Node {
		spec := func(start int) []SliceAxisSpec {
			s := []SliceAxisSpec{AxisRange(), AxisRange(), AxisRange(), AxisRange()}
			s[axis] = AxisRange(start).Stride(2)
			return s
		}
		a, b := Slice(x, spec(0)...), Slice(x, spec(1)...)
		return Where(GreaterOrEqual(a, b), a, b)
	}
	pool := func(x *Node) *Node { return pairMax(pairMax(x, 2), 1) }
	x := checkImages("baselineCNN", images)
	b := x.Shape().Dimensions[0]
	conv := func(scope *model.Scope, x *Node, out int) *Node {
		cin := x.Shape().Dimensions[3]
		s := scope.WithInitializer(torchUniform(scope, 9*cin))
		w := s.VariableWithShape("weights", shapes.Make(x.DType(), 3, 3, cin, out)).NodeValue(x.Graph())
		bias := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
		return Add(conv3x3(x, w), Reshape(bias, 1, 1, 1, out))
	}
	dense := func(scope *model.Scope, x *Node, out int) *Node {
		in := x.Shape().Dimensions[1]
		s := scope.WithInitializer(torchUniform(scope, in))
		w := s.VariableWithShape("weights", shapes.Make(x.DType(), in, out)).NodeValue(x.Graph())
		bias := s.VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
		return Add(MatMul(x, w), InsertAxes(bias, 0))
	}
	x = pool(relu(conv(scope.In("conv1"), x, 16)))
	x = pool(relu(conv(scope.In("conv2"), x, 32)))
	x = Reshape(x, b, 7*7*32)
	x = relu(dense(scope.In("fc1"), x, 128))
	return dense(scope.In("fc2"), x, NumClasses)
}
