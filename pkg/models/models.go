package models

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// ModelFn builds a model's logits [B, 10] from normalised images [B, 28, 28, 1] (NHWC, as
// Batcher yields them), creating or reusing its variables in scope. SimpleCNN and MLP are
// ModelFns; a ModelFn can be passed to GoMLX's train.NewTrainer as is.
type ModelFn = func(scope *model.Scope, images *Node) *Node

// SimpleCNN is the seed paper's CNN: conv 3×3 16 → ReLU → maxpool 2 → conv 3×3 32 → ReLU →
// maxpool 2 → fc 1568→128 → ReLU → fc 128→10 ("same" padding: 28→14→7; 206,922 parameters),
// initialised as PyTorch's defaults (U(±1/√fanIn) for weights and biases). images [B, 28, 28, 1]
// → logits [B, 10], in images' dtype. Scopes: conv1, conv2, fc1, fc2.
func SimpleCNN(scope *model.Scope, images *Node) *Node {
	x := checkImages("SimpleCNN", images)
	x = MaxPool2(ReLU(ConvLayer(scope.In("conv1"), x, 16))) // [B, 14, 14, 16]
	x = MaxPool2(ReLU(ConvLayer(scope.In("conv2"), x, 32))) // [B, 7, 7, 32]
	b := x.Shape().Dimensions[0]
	x = Reshape(x, b, 7*7*32) // (h, w, c) order: a fixed permutation of PyTorch's (c, h, w)
	x = ReLU(Dense(scope.In("fc1"), x, 128))
	return Dense(scope.In("fc2"), x, NumClasses)
}

// MLP is a one-hidden-layer perceptron: flatten 784 → fc 128 → ReLU → fc 10 (101,770 parameters),
// initialised as PyTorch's defaults. images [B, 28, 28, 1] → logits [B, 10]. Scopes: fc1, fc2.
func MLP(scope *model.Scope, images *Node) *Node {
	x := checkImages("MLP", images)
	x = Reshape(x, x.Shape().Dimensions[0], ImageSize)
	x = ReLU(Dense(scope.In("fc1"), x, 128))
	return Dense(scope.In("fc2"), x, NumClasses)
}

// checkImages panics (GoMLX's convention while building a graph) unless images is a float
// [B, 28, 28, 1] tensor; it accepts [B, 28, 28] and [B, 784] by reshaping.
func checkImages(name string, images *Node) *Node {
	if !images.DType().IsFloat() {
		panic(fmt.Sprintf("models.%s: images must be float, got %s", name, images.Shape()))
	}
	d := images.Shape().Dimensions
	switch {
	case len(d) == 4 && d[1] == ImageRows && d[2] == ImageCols && d[3] == 1:
		return images
	case len(d) == 3 && d[1] == ImageRows && d[2] == ImageCols,
		len(d) == 2 && d[1] == ImageSize:
		return Reshape(images, d[0], ImageRows, ImageCols, 1)
	}
	panic(fmt.Sprintf("models.%s: images must be [B, 28, 28, 1], got %s", name, images.Shape()))
}

// NewStore returns an empty GoMLX model store whose variable initialization is seeded with
// seed, so the same seed gives the same initial parameters.
func NewStore(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}
