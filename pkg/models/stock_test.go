package models

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"qnlab/pkg/backend"
)

// stockPool is GoMLX's MaxPool 2×2, stride 2, NHWC (its gradient is SelectAndScatter, which the
// pure-Go backend implements from compute v0.1.3 on).
func stockPool(x *Node) *Node { return MaxPool(x).Window(2).Done() }

// Measured on compute v0.1.3 (BenchmarkCNNStepStockVsOurs, BenchmarkConv, BenchmarkPool, 20
// alternated rounds each, quiet machine, 2026-12-02): a stockCNN step 755 ms against SimpleCNN's
// 59 ms (12.8×); Convolve forward+backward 289 ms against im2col's 46 ms (6.3×); MaxPool 49 ms
// against maxPool2's 14 ms (3.6×). v0.1.3 gives the stock ops a gradient and threads, not the
// speed: the package keeps its graphs (see doc.go).

// stockCNN is SimpleCNN built from GoMLX's stock ops: Convolve with "same" padding, MaxPool, a
// ReLU as Max(x, 0), dense layers as MatMul — the graph one writes without knowing the pure-Go
// backend. Same parameter count and initialisation as SimpleCNN.
func stockCNN(scope *model.Scope, images *Node) *Node {
	x := checkImages("stockCNN", images)
	g, dtype := x.Graph(), x.DType()
	relu := func(x *Node) *Node { return Max(x, ScalarZero(g, dtype)) }
	conv := func(scope *model.Scope, x *Node, out int) *Node {
		cin := x.Shape().Dimensions[3]
		s := scope.WithInitializer(torchUniform(scope, 9*cin))
		w := s.VariableWithShape("weights", shapes.Make(dtype, 3, 3, cin, out)).NodeValue(g)
		bias := s.VariableWithShape("biases", shapes.Make(dtype, out)).NodeValue(g)
		return Add(Convolve(x, w).PadSame().Done(), Reshape(bias, 1, 1, 1, out))
	}
	dense := func(scope *model.Scope, x *Node, out int) *Node {
		in := x.Shape().Dimensions[1]
		s := scope.WithInitializer(torchUniform(scope, in))
		w := s.VariableWithShape("weights", shapes.Make(dtype, in, out)).NodeValue(g)
		bias := s.VariableWithShape("biases", shapes.Make(dtype, out)).NodeValue(g)
		return Add(MatMul(x, w), InsertAxes(bias, 0))
	}
	b := x.Shape().Dimensions[0]
	x = stockPool(relu(conv(scope.In("conv1"), x, 16)))
	x = stockPool(relu(conv(scope.In("conv2"), x, 32)))
	x = relu(dense(scope.In("fc1"), Reshape(x, b, 7*7*32), 128))
	return dense(scope.In("fc2"), x, NumClasses)
}

// TestStockMaxPoolGradient: on compute v0.1.3 GoMLX's MaxPool has a gradient on the pure-Go
// backend; it must equal maxPool2's (first maximum wins ties, as PyTorch) on data with ties.
func TestStockMaxPoolGradient(t *testing.T) {
	be := backend.MustDefault()
	data := []float64{
		1, 5, 3, 5, 0, 5, 2, 5,
		4, 5, 2, 5, 7, 5, 7, 5,
		9, 5, 8, 5, -1, 5, -3, 5,
		9, 5, 9, 5, -2, 5, -1, 5,
	}
	x := tensors.FromFlatDataAndDimensions(data, 1, 4, 4, 2)
	wt := tensors.FromFlatDataAndDimensions([]float64{10, 1, 20, 2, 30, 3, 40, 4}, 1, 2, 2, 2)
	outs := MustExecOnceN(be, func(x, wt *Node) []*Node {
		a, b := stockPool(x), maxPool2(x)
		return []*Node{a, b, Gradient(ReduceAllSum(Mul(a, wt)), x)[0], Gradient(ReduceAllSum(Mul(b, wt)), x)[0]}
	}, x, wt)
	ya, yb, ga, gb := flat64(outs[0]), flat64(outs[1]), flat64(outs[2]), flat64(outs[3])
	for i := range ya {
		if ya[i] != yb[i] {
			t.Fatalf("stock MaxPool %v, maxPool2 %v", ya, yb)
		}
	}
	for i := range ga {
		if ga[i] != gb[i] {
			t.Errorf("gradients differ at %d:\nstock    %v\nMaxPool2 %v", i, ga, gb)
			break
		}
	}
}

// BenchmarkCNNStepStockVsOurs alternates Adam steps of stockCNN and SimpleCNN (batch 128) and
// reports the ratio stock/SimpleCNN.
func BenchmarkCNNStepStockVsOurs(b *testing.B) {
	benchmarkRatio(b, "stock", newStepper(b, stockCNN), "cnn", newStepper(b, SimpleCNN))
}

// BenchmarkPool compares GoMLX's MaxPool with maxPool2 on conv1's output (batch 128, 28×28×16,
// float32), forward and backward, alternately: ratio stock/maxPool2.
func BenchmarkPool(b *testing.B) {
	be := backend.MustDefault()
	x := tensors.FromShape(shapesOf(dtypes.Float32, 128, 28, 28, 16))
	runner := func(pool func(*Node) *Node) func() {
		exec := MustNewExec(be, func(x *Node) *Node { return Gradient(ReduceAllSum(pool(x)), x)[0] })
		run := func() { exec.MustExec(x)[0].MustFinalizeAll() }
		run()
		return run
	}
	benchmarkRatio(b, "stock", runner(stockPool), "maxpool2", runner(maxPool2))
}
