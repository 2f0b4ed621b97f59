package models

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/backend"
)

// trainFixedSample trains a fresh model (seeded) for steps full-batch steps on the first n
// training images with GoMLX's Trainer and Loop, and returns the full-batch loss before and after.
func trainFixedSample(t *testing.T, fn ModelFn, opt optimizer.Interface, n, steps int) (before, after Metrics) {
	t.Helper()
	be := backend.MustDefault()
	m := loadRealMNIST(t)
	sample := FixedSample(m.Train, n)
	store := NewStore(11)
	trainer := train.NewTrainer(be, store, fn, TrainerLoss, opt, nil, nil)
	loop := train.NewLoop(trainer)
	var err error
	if before, err = Evaluate(be, store, fn, sample.Set, n, dtypes.Float32); err != nil {
		t.Fatal(err)
	}
	metrics, err := loop.RunSteps(sample, steps)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics {
		m.MustFinalizeAll()
	}
	if after, err = Evaluate(be, store, fn, sample.Set, n, dtypes.Float32); err != nil {
		t.Fatal(err)
	}
	if got := optimizer.GetGlobalStep(store); got != int64(steps) {
		t.Errorf("global step %d after %d steps", got, steps)
	}
	return before, after
}

func TestAdamTrainsCNN(t *testing.T) {
	before, after := trainFixedSample(t, SimpleCNN, optimizer.Adam().Done(), 512, 30)
	t.Logf("SimpleCNN, Adam (lr 0.001), 30 full-batch steps on the first 512 training images: loss %.4f → %.4f (%.1f%%), accuracy %.1f%% → %.1f%%",
		before.Loss, after.Loss, 100*after.Loss/before.Loss, 100*before.Accuracy, 100*after.Accuracy)
	if math.IsNaN(after.Loss) || after.Loss > 0.5*before.Loss {
		t.Errorf("30 Adam steps took the loss from %.4f to %.4f: want below half", before.Loss, after.Loss)
	}
}

func TestSGDTrainsCNN(t *testing.T) {
	opt := optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(0.1).Done()
	before, after := trainFixedSample(t, SimpleCNN, opt, 256, 20)
	t.Logf("SimpleCNN, SGD (lr 0.1, no decay), 20 full-batch steps on the first 256 training images: loss %.4f → %.4f (%.1f%%), accuracy %.1f%% → %.1f%%",
		before.Loss, after.Loss, 100*after.Loss/before.Loss, 100*before.Accuracy, 100*after.Accuracy)
	if math.IsNaN(after.Loss) || after.Loss > 0.5*before.Loss {
		t.Errorf("20 SGD steps took the loss from %.4f to %.4f: want below half", before.Loss, after.Loss)
	}
}

// TestMLPEpochsAndEvaluate trains the MLP for two shuffled epochs over 6,000 training images with
// RunEpochs (the Batcher ends each epoch) and evaluates it on the whole test set.
func TestMLPEpochsAndEvaluate(t *testing.T) {
	be := backend.MustDefault()
	m := loadRealMNIST(t)
	store := NewStore(12)
	trainer := train.NewTrainer(be, store, MLP, TrainerLoss, optimizer.Adam().Done(), nil, nil)
	loop := train.NewLoop(trainer)
	batcher := NewBatcher(m.Train.Head(6000), 100, 13)
	metrics, err := loop.RunEpochs(batcher, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics {
		m.MustFinalizeAll()
	}
	if got := optimizer.GetGlobalStep(store); got != 120 {
		t.Errorf("two epochs of 60 batches: global step %d, want 120", got)
	}
	test, err := Evaluate(be, store, MLP, m.Test, 0, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MLP after 2 epochs on 6,000 images: test %s", test)
	if test.N != 10000 || test.Accuracy < 0.85 || test.Loss > 0.6 {
		t.Errorf("test %s: want n=10000, accuracy ≥ 85%%, loss ≤ 0.6", test)
	}
	// The batch size does not change the result (sums in float64, partial last batch included).
	other, err := Evaluate(be, store, MLP, m.Test, 768, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if other.Accuracy != test.Accuracy || math.Abs(other.Loss-test.Loss) > 1e-6*test.Loss {
		t.Errorf("batch 768: %s, batch 1000: %s", other, test)
	}
}
