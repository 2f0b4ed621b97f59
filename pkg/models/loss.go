package models

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// Loss is the mean softmax cross-entropy of logits [B, 10] against integer labels [B] or [B, 1]:
// mean over the batch of −log softmax(logits)[label], in logits' dtype.
func Loss(logits, labels *Node) *Node {
	return ReduceAllMean(exampleLosses(logits, labels))
}

// exampleLosses returns the cross-entropy of each example, [B].
func exampleLosses(logits, labels *Node) *Node {
	if logits.Rank() != 2 {
		panic(fmt.Errorf("models.Loss: logits must be [B, classes], got %s", logits.Shape()))
	}
	b, classes := logits.Shape().Dimensions[0], logits.Shape().Dimensions[1]
	if !labels.DType().IsInt() || labels.Shape().Size() != b {
		panic(fmt.Errorf("models.Loss: labels must be %d integers ([B] or [B, 1]), got %s", b, labels.Shape()))
	}
	oneHot := OneHot(Reshape(labels, b), classes, logits.DType())
	return Neg(ReduceSum(Mul(oneHot, LogSoftmax(logits)), -1))
}

// TrainerLoss is Loss with the signature of GoMLX's train.LossFn (labels and logits as slices
// of one node each), for train.NewTrainer.
func TrainerLoss(labels, logits []*Node) *Node {
	return Loss(logits[0], labels[0])
}

// Correct returns the number of examples whose largest logit is at the label (ties: the first
// index wins), as a scalar in logits' dtype.
func Correct(logits, labels *Node) *Node {
	b := logits.Shape().Dimensions[0]
	predicted := ArgMax(logits, -1, labels.DType())
	hits := Equal(predicted, Reshape(labels, b))
	return ReduceAllSum(ConvertDType(hits, logits.DType()))
}

// ExampleLoss returns the per-example loss of fn as a function of its inputs [images, labels]
// (each with the examples on axis 0): the cross-entropy of each example, [B]. It is an
// lbfgs.ExampleLoss, for the stochastic L-BFGS optimizers.
func ExampleLoss(fn ModelFn) func(scope *model.Scope, inputs []*Node) *Node {
	return func(scope *model.Scope, inputs []*Node) *Node {
		return exampleLosses(fn(scope, inputs[0]), inputs[1])
	}
}
