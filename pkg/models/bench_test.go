package models

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
)

// BenchmarkCNNStep times one training step of SimpleCNN (batch 128, float32: forward, backward
// and Adam update) through GoMLX's train.Trainer on the default backend. Compare with
// bench/torch_cnn.py (PyTorch, same model and batch) for the ratio.
func BenchmarkCNNStep(b *testing.B) {
	benchmarkStep(b, SimpleCNN)
}

// BenchmarkCNNStepBaseline is BenchmarkCNNStep for baselineCNN, the first (NHWC) layout of the
// same model: the ratio of the two is what the layout work bought.
func BenchmarkCNNStepBaseline(b *testing.B) {
	benchmarkStep(b, baselineCNN)
}

// BenchmarkMLPStep is BenchmarkCNNStep for the MLP.
func BenchmarkMLPStep(b *testing.B) {
	benchmarkStep(b, MLP)
}

func benchmarkStep(b *testing.B, modelFn ModelFn) {
	be := backend.MustDefault()
	m := loadRealMNIST(b)
	batcher := NewBatcher(m.Train, 128, 1)
	images, labels := batcher.Tensors(batcher.EpochBatches(0)[0])
	trainer := train.NewTrainer(be, NewStore(1), modelFn, TrainerLoss, optimizer.Adam().Done(), nil, nil)
	step := func() {
		// TrainStep takes ownership of its inputs: hand it clones.
		batch := train.Batch{Inputs: []*tensors.Tensor{cloneTensor(b, images)}, Labels: []*tensors.Tensor{cloneTensor(b, labels)}}
		metrics, err := trainer.TrainStep(batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range metrics {
			t.MustFinalizeAll()
		}
	}
	step() // compile
	step()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
}

func cloneTensor(tb testing.TB, t *tensors.Tensor) *tensors.Tensor {
	c, err := t.Clone()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkConv compares Conv3x3 (im2col in graph ops) with GoMLX's Convolve on the second
// convolution of SimpleCNN (batch 128, 14×14×16 → 14×14×32, float32), forward and backward
// (gradient of the sum of the outputs with respect to input and kernel).
func BenchmarkConv(b *testing.B) {
	be := backend.MustDefault()
	x := tensors.FromShape(shapesOf(dtypes.Float32, 128, 14, 14, 16))
	k := tensors.FromShape(shapesOf(dtypes.Float32, 3, 3, 16, 32))
	for _, c := range []struct {
		name string
		conv func(x, k *Node) *Node
	}{
		{"im2col", Conv3x3},
		{"Convolve", convolveSame},
	} {
		b.Run(c.name, func(b *testing.B) {
			exec := MustNewExec(be, func(x, k *Node) []*Node {
				y := c.conv(x, k)
				return Gradient(ReduceAllSum(y), x, k)
			})
			defer exec.Finalize()
			run := func() {
				for _, t := range exec.MustExec(x, k) {
					t.MustFinalizeAll()
				}
			}
			run()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
		})
	}
}
