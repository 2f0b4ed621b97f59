package lbfgs_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
)

// BenchmarkLBFGSUpdateVsStep is issue #6's cost target: one L-BFGS update (pair, history, the
// direction over m = 10 pairs, the step) for SimpleCNN's 206,922 float32 parameters, against one
// forward+backward training step at batch 128, run alternately; it reports the medians (ms) and
// the ratio update/step, for the two-loop recursion (the optimizer's default) and the compact
// form. The update runs alone in its own graph on given gradients. It also times the update's
// memory floor (newFloor) and reports update/floor.
func BenchmarkLBFGSUpdateVsStep(b *testing.B) {
	be := backend.MustDefault()
	step := newCNNStepper(b)

	// A store with SimpleCNN's variables, created by one SGD step.
	images, labels := firstBatch(b)
	store := models.NewStore(1)
	trainer := train.NewTrainer(be, store, models.SimpleCNN, models.TrainerLoss, optimizer.StochasticGradientDescent().WithDecay(false).Done(), nil, nil)
	if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}}); err != nil {
		b.Fatal(err)
	}
	var params []*tensors.Tensor // two gradient sets, alternated, so that pairs form
	var grads [2][]*tensors.Tensor
	for v := range store.RootScope().IterVariables() {
		if v.Trainable {
			params = append(params, v.MustValue())
		}
	}
	for k := range grads {
		for i, t := range params {
			flat := make([]float32, t.Shape().Size())
			for j := range flat {
				flat[j] = float32((i+j*(k+1))%17-8) * 1e-3
			}
			grads[k] = append(grads[k], tensors.FromFlatDataAndDimensions(flat, t.Shape().Dimensions...))
		}
	}
	newUpdate := func(compact bool) func() {
		opt, err := lbfgs.WithCompact(lbfgs.Optimizer().M(10), compact).Scope(fmt.Sprintf("lbfgs_compact_%v", compact)).Done()
		if err != nil {
			b.Fatal(err)
		}
		withGrads := opt.(interface {
			UpdateGraphWithGradients(*model.Scope, []*Node, dtypes.DType)
		})
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
		return update
	}
	twoLoop, compact := newUpdate(false), newUpdate(true)
	floor := newFloor(paramCount(grads[0]), 10) // the grads: params' buffers were donated by now
	if os.Getenv("QNLAB_BENCH_UPDATE_ONLY") != "" {
		b.ResetTimer()
		for b.Loop() {
			twoLoop()
		}
		return
	}
	// Alternate the four, so that each median sees the same machine load.
	var ts [4][]float64
	fns := []func(){step, twoLoop, compact, floor}
	b.ResetTimer()
	for b.Loop() {
		for i, fn := range fns {
			start := time.Now()
			fn()
			ts[i] = append(ts[i], float64(time.Since(start).Microseconds())/1000)
		}
	}
	stepMs, twoLoopMs, compactMs, floorMs := medianOf(ts[0]), medianOf(ts[1]), medianOf(ts[2]), medianOf(ts[3])
	b.ReportMetric(stepMs, "step-ms")
	b.ReportMetric(floorMs, "floor-ms")
	b.ReportMetric(twoLoopMs/floorMs, "update/floor")
	b.ReportMetric(twoLoopMs, "update-ms")
	b.ReportMetric(compactMs, "compact-update-ms")
	b.ReportMetric(twoLoopMs/stepMs, "update/step")
	b.ReportMetric(compactMs/stepMs, "compact-update/step")
}

func paramCount(params []*tensors.Tensor) int {
	n := 0
	for _, t := range params {
		n += t.Shape().Size()
	}
	return n
}

// newFloor returns the update's memory floor for d float32 parameters and m pairs: the two-loop
// recursion as plain Go loops over host slices, reading every s_i and y_i twice (a dot and an
// axpy in each loop) as the update must, and nothing else (no pair, no history shift, no step).
func newFloor(d, m int) func() {
	s, y := make([][]float32, m), make([][]float32, m)
	for i := range m {
		s[i], y[i] = make([]float32, d), make([]float32, d)
		for j := range d {
			s[i][j] = float32((i+j)%13-6) * 1e-3
			y[i][j] = float32((2*i+j)%11-5) * 1e-3
		}
	}
	q := make([]float32, d)
	alpha := make([]float32, m)
	dot := func(a, b []float32) float32 {
		var acc float32
		for j := range a {
			acc += a[j] * b[j]
		}
		return acc
	}
	axpy := func(a float32, x, y []float32) {
		for j := range y {
			y[j] += a * x[j]
		}
	}
	return func() {
		for j := range q {
			q[j] = float32(j%7) * 1e-3
		}
		for i := m - 1; i >= 0; i-- {
			alpha[i] = dot(s[i], q)
			axpy(-alpha[i], y[i], q)
		}
		for i := range m {
			axpy(alpha[i]-dot(y[i], q), s[i], q)
		}
	}
}

// firstBatch returns the first batch of 128 MNIST training images (seed 1).
func firstBatch(b *testing.B) (images, labels *tensors.Tensor) {
	data, err := models.LoadDefaultMNIST()
	if err != nil {
		b.Skipf("the MNIST data is not available: %v", err)
	}
	batcher := models.NewBatcher(data.Train, 128, 1)
	return batcher.Tensors(batcher.EpochBatches(0)[0])
}

// newCNNStepper returns one Adam training step of SimpleCNN on the first batch, compiled.
func newCNNStepper(b *testing.B) func() {
	images, labels := firstBatch(b)
	trainer := train.NewTrainer(backend.MustDefault(), models.NewStore(1), models.SimpleCNN, models.TrainerLoss, optimizer.Adam().Done(), nil, nil)
	step := func() {
		ic, _ := images.Clone()
		lc, _ := labels.Clone()
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{ic}, Labels: []*tensors.Tensor{lc}})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range metrics {
			t.MustFinalizeAll()
		}
	}
	step()
	step()
	return step
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	n := len(s)
	return (s[n/2-1] + s[n/2]) / 2
}
