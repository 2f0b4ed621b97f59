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

// Names lists the models ByName knows, in a fixed order.
func Names() []string { return []string{"cnn", "mlp"} }

// ByName returns the model called name: "cnn" (SimpleCNN) or "mlp" (MLP).
func ByName(name string) (ModelFn, error) {
	switch name {
	case "cnn":
		return SimpleCNN, nil
	case "mlp":
		return MLP, nil
	}
	return nil, fmt.Errorf("models: unknown model %q: want cnn or mlp", name)
}

// SimpleCNN is the seed paper's CNN: conv 3×3 16 → ReLU → maxpool 2 → conv 3×3 32 → ReLU →
// maxpool 2 → fc 1568→128 → ReLU → fc 128→10 ("same" padding: 28→14→7; 206,922 parameters),
// initialised as PyTorch's defaults (U(±1/√fanIn) for weights and biases). images [B, 28, 28, 1]
// → logits [B, 10], in images' dtype. Scopes: conv1, conv2 (weights [out, 3, 3, in], biases
// [out]), fc1, fc2 (weights [out, in], biases [out]).
//
// The graph is laid out for the pure-Go backend (see the package documentation):
//   - each convolution and its pooling is a ConvPool: four kernel-first products, one per parity
//     class of output positions, so the pooling needs no strided slices and the kernel's
//     gradient no transpose; the bias is a last kernel column against a channel of ones;
//   - conv1's patches are channels-first (concatenations of whole blocks; the images need no
//     gradient), conv2's NHWC, from one small transpose of the pooled activations, so that the
//     gradient with respect to its patches is a plain product too;
//   - ReLU after max-pooling (max commutes with the monotone ReLU: same values and gradients,
//     4× fewer elements);
//   - dense weights are [out, in], which spares a transpose of fc1's gradient.
func SimpleCNN(scope *model.Scope, images *Node) *Node {
	x := checkImages("SimpleCNN", images)
	b := x.Shape().Dimensions[0]

	// conv1 + pool: [1, B, 28, 28] channels-first (one channel: a reshape) → [16, B, 14, 14].
	x = Reshape(x, 1, b, ImageRows, ImageCols)
	x = ReLU(convLayer(scope.In("conv1"), x, 0, 1, 16))

	// conv2 + pool on NHWC input (patches [B·7·7, 145] per parity class) → [32, B, 7, 7].
	x = TransposeAllAxes(x, 1, 2, 3, 0) // [B, 14, 14, 16]
	x = ReLU(convLayer(scope.In("conv2"), x, 3, 16, 32))

	// Flatten per example in (c, h, w) order, as PyTorch's torch.flatten of NCHW.
	x = Reshape(TransposeAllAxes(x, 1, 0, 2, 3), b, 32*7*7)
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
		panic(fmt.Errorf("models.%s: images must be float, got %s", name, images.Shape()))
	}
	d := images.Shape().Dimensions
	switch {
	case len(d) == 4 && d[1] == ImageRows && d[2] == ImageCols && d[3] == 1:
		return images
	case len(d) == 3 && d[1] == ImageRows && d[2] == ImageCols,
		len(d) == 2 && d[1] == ImageSize:
		return Reshape(images, d[0], ImageRows, ImageCols, 1)
	}
	panic(fmt.Errorf("models.%s: images must be [B, 28, 28, 1], got %s", name, images.Shape()))
}

// NewStore returns an empty GoMLX model store whose variable initialization is seeded with
// seed, so the same seed gives the same initial parameters.
func NewStore(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}
