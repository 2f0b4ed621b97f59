package models

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Metrics are a model's mean loss and accuracy over a set of examples.
type Metrics struct {
	Loss     float64 // mean softmax cross-entropy
	Accuracy float64 // fraction of examples whose largest logit is at the label
	N        int     // number of examples
}

// String formats m as "loss 0.1234, accuracy 97.65% (n=10000)".
func (m Metrics) String() string {
	return fmt.Sprintf("loss %.4f, accuracy %.2f%% (n=%d)", m.Loss, 100*m.Accuracy, m.N)
}

// Evaluate returns the mean loss and the accuracy of modelFn, with the variables in store, over
// all of set, in batches of batchSize (1000 if ≤ 0) computed in dtype (Float32 if invalid).
// Sums are accumulated in float64 on the host. Variables missing from store are initialised
// (seeded by the store), so call it on a trained store.
func Evaluate(backend compute.Backend, store *model.Store, modelFn ModelFn, set *Set, batchSize int, dtype dtypes.DType) (Metrics, error) {
	if batchSize <= 0 {
		batchSize = 1000
	}
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float32
	}
	if set == nil || set.N == 0 {
		return Metrics{}, fmt.Errorf("models: Evaluate: empty set")
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, images, labels *Node) (*Node, *Node) {
		logits := modelFn(scope, images)
		lossSum := ReduceAllSum(exampleLosses(logits, labels))
		return ConvertDType(lossSum, dtypes.Float64), ConvertDType(Correct(logits, labels), dtypes.Float64)
	})
	if err != nil {
		return Metrics{}, fmt.Errorf("models: Evaluate: %w", err)
	}
	defer exec.Finalize()
	batcher := &Batcher{Set: set, BatchSize: batchSize, Sequential: true, DType: dtype}
	var lossSum, correct float64
	for _, indices := range batcher.EpochBatches(0) {
		images, labels := batcher.Tensors(indices)
		var outs []*tensors.Tensor
		var callErr error
		if err := exceptions.TryCatch[error](func() { outs, callErr = exec.Call(images, labels) }); err != nil || callErr != nil {
			return Metrics{}, fmt.Errorf("models: Evaluate: %w", errors.Join(err, callErr))
		}
		lossSum += tensors.ToScalar[float64](outs[0])
		correct += tensors.ToScalar[float64](outs[1])
		for _, t := range append(outs, images, labels) {
			t.MustFinalizeAll()
		}
	}
	n := float64(set.N)
	return Metrics{Loss: lossSum / n, Accuracy: correct / n, N: set.N}, nil
}
