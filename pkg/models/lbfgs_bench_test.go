package models

import (
	"os"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
)

// BenchmarkLBFGSUpdateVsStep is issue #6's cost target: one L-BFGS update (pair, history, the
// direction over m = 10 pairs, the step) for SimpleCNN's 206,922 float32 parameters, against one
// forward+backward training step at batch 128, run alternately; it reports both medians (ms) and
// the ratio update/step. The update runs alone in its own graph on given gradients.
func BenchmarkLBFGSUpdateVsStep(b *testing.B) {
	be := backend.MustDefault()
	step := newStepper(b, SimpleCNN)

	// A store with SimpleCNN's variables, created by one SGD step.
	data := loadRealMNIST(b)
	batcher := NewBatcher(data.Train, 128, 1)
	images, labels := batcher.Tensors(batcher.EpochBatches(0)[0])
	store := NewStore(1)
	trainer := train.NewTrainer(be, store, SimpleCNN, TrainerLoss, optimizer.StochasticGradientDescent().WithDecay(false).Done(), nil, nil)
	if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}}); err != nil {
		b.Fatal(err)
	}
	opt, err := lbfgs.Optimizer().M(10).Done()
	if err != nil {
		b.Fatal(err)
	}
	withGrads := opt.(interface {
		UpdateGraphWithGradients(*model.Scope, []*Node, dtypes.DType)
	})
	var shapes []*tensors.Tensor // two gradient sets, alternated, so that pairs form
	var grads [2][]*tensors.Tensor
	for v := range store.RootScope().IterVariables() {
		if v.Trainable {
			shapes = append(shapes, v.MustValue())
		}
	}
	for k := range grads {
		for i, t := range shapes {
			flat := make([]float32, t.Shape().Size())
			for j := range flat {
				flat[j] = float32((i+j*(k+1))%17-8) * 1e-3
			}
			grads[k] = append(grads[k], tensors.FromFlatDataAndDimensions(flat, t.Shape().Dimensions...))
		}
	}
	exec := model.MustNewExec(be, store, func(scope *model.Scope, gs []*Node) *Node {
		for v := range scope.IterVariables() { // the update applies to the variables the graph uses
			if v.Trainable {
				v.NodeValue(gs[0].Graph())
			}
		}
		withGrads.UpdateGraphWithGradients(scope, gs, dtypes.Float32)
		return ReduceAllSum(gs[0])
	})
	k := 0
	update := func() {
		args := make([]any, len(grads[k]))
		for i, t := range grads[k] {
			args[i] = t
		}
		out, err := exec.Exec(args...)
		if err != nil {
			b.Fatal(err)
		}
		out[0].MustFinalizeAll()
		k = 1 - k
	}
	update() // compile
	update()
	if os.Getenv("QNLAB_BENCH_UPDATE_ONLY") != "" {
		b.ResetTimer()
		for b.Loop() {
			update()
		}
		return
	}
	benchmarkRatio(b, "update", update, "step", step)
}
