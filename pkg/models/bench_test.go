package models

import (
	"slices"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
)

// BenchmarkCNNStep times one training step of SimpleCNN (batch 128, float32: forward, backward
// and Adam update) through GoMLX's train.Trainer on the default backend. Compare with
// scripts/torch/cnn.py (PyTorch, same model and batch) for the ratio.
func BenchmarkCNNStep(b *testing.B) {
	step := newStepper(b, SimpleCNN)
	b.ResetTimer()
	for b.Loop() {
		step()
	}
}

// BenchmarkCNNStepVsBaseline alternates steps of SimpleCNN and of baselineCNN (the same model in
// its first, NHWC layout) and reports their times and the ratio baseline/SimpleCNN: what the
// layout work bought, measured under the same machine load.
func BenchmarkCNNStepVsBaseline(b *testing.B) {
	benchmarkRatio(b, "baseline", newStepper(b, baselineCNN), "cnn", newStepper(b, SimpleCNN))
}

// BenchmarkMLPStep is BenchmarkCNNStep for the MLP.
func BenchmarkMLPStep(b *testing.B) {
	step := newStepper(b, MLP)
	b.ResetTimer()
	for b.Loop() {
		step()
	}
}

// newStepper returns a function running one Adam training step of modelFn on a fixed batch of
// 128 MNIST training images, compiled and warmed up.
func newStepper(b *testing.B, modelFn ModelFn) func() {
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
	return step
}

// benchmarkRatio runs slow and fast alternately, b.N times each, and reports the median time of
// each (ms) and the ratio of the medians, slow/fast.
func benchmarkRatio(b *testing.B, slowName string, slow func(), fastName string, fast func()) {
	var slowTimes, fastTimes []float64
	timeIt := func(fn func()) float64 {
		start := time.Now()
		fn()
		return float64(time.Since(start).Microseconds()) / 1000
	}
	b.ResetTimer()
	for b.Loop() {
		slowTimes = append(slowTimes, timeIt(slow))
		fastTimes = append(fastTimes, timeIt(fast))
	}
	slowMs, fastMs := median(slowTimes), median(fastTimes)
	b.ReportMetric(slowMs, slowName+"-ms")
	b.ReportMetric(fastMs, fastName+"-ms")
	b.ReportMetric(slowMs/fastMs, slowName+"/"+fastName)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func cloneTensor(tb testing.TB, t *tensors.Tensor) *tensors.Tensor {
	c, err := t.Clone()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkConv compares conv3x3 (im2col in graph ops) with GoMLX's Convolve on the second
// convolution of SimpleCNN (batch 128, 14×14×16 → 14×14×32, NHWC, float32), forward and backward
// (gradient of the sum of the outputs with respect to input and kernel), alternately, and reports
// the ratio Convolve/im2col.
func BenchmarkConv(b *testing.B) {
	be := backend.MustDefault()
	x := tensors.FromShape(shapesOf(dtypes.Float32, 128, 14, 14, 16))
	k := tensors.FromShape(shapesOf(dtypes.Float32, 3, 3, 16, 32))
	runner := func(conv func(x, k *Node) *Node) func() {
		exec := MustNewExec(be, func(x, k *Node) []*Node {
			return Gradient(ReduceAllSum(conv(x, k)), x, k)
		})
		run := func() {
			for _, t := range exec.MustExec(x, k) {
				t.MustFinalizeAll()
			}
		}
		run()
		return run
	}
	benchmarkRatio(b, "convolve", runner(convolveSame), "im2col", runner(conv3x3))
}
