package models

import (
	"fmt"
	"iter"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// Batcher cuts a Set into normalised mini-batches: images as a [B, 28, 28, 1] tensor (NHWC,
// pixels mapped to (x/255 − PixelMean)/PixelStd) and labels as a [B, 1] int32 tensor.
//
// Epoch e visits the examples in the order of a permutation drawn from (Seed, e) alone, so the
// same Seed gives the same batches in every run, whichever epochs are asked for and in which order.
//
// Batcher implements GoMLX's train.Dataset: each call of Iter yields the next epoch (or, with
// Repeat, all epochs from the next one on, endlessly, for train.Loop.RunSteps). Its zero value,
// given a Set, yields shuffled float32 batches of 128 with seed 0.
type Batcher struct {
	Set *Set

	// BatchSize is the number of examples per batch. If 0, it defaults to 128.
	BatchSize int

	// Seed selects the epoch permutations.
	Seed uint64

	// Sequential, if true, keeps the Set's order (no shuffling).
	Sequential bool

	// DropLast, if true, skips the last batch of an epoch when it is smaller than BatchSize.
	DropLast bool

	// Repeat, if true, makes Iter cycle through epochs without end: for train.Loop.RunSteps;
	// train.Loop.RunEpochs would never return.
	Repeat bool

	// DType of the images: Float32 or Float64. If invalid (the zero value), it defaults to Float32.
	DType dtypes.DType

	// DatasetName is the name reported to GoMLX (train.Dataset.Name). If empty, it defaults to "mnist".
	DatasetName string

	nextEpoch int
}

// NewBatcher returns a shuffling Batcher over set with the given batch size and seed.
func NewBatcher(set *Set, batchSize int, seed uint64) *Batcher {
	return &Batcher{Set: set, BatchSize: batchSize, Seed: seed}
}

// FixedSample returns a Batcher that yields the first n examples of set (all of them if n ≤ 0
// or n > set.N) as one full batch, in order, again and again (Repeat is set: run it with
// train.Loop.RunSteps; unset Repeat to make each Iter one batch, an epoch, for RunEpochs).
func FixedSample(set *Set, n int) *Batcher {
	if n <= 0 || n > set.N {
		n = set.N
	}
	return &Batcher{Set: set.Head(n), BatchSize: n, Sequential: true, Repeat: true, DatasetName: fmt.Sprintf("mnist-first-%d", n)}
}

func (b *Batcher) batchSize() int {
	if b.BatchSize <= 0 {
		return 128
	}
	return b.BatchSize
}

func (b *Batcher) dtype() dtypes.DType {
	if b.DType == dtypes.InvalidDType {
		return dtypes.Float32
	}
	return b.DType
}

// Name implements train.Dataset.
func (b *Batcher) Name() string {
	if b.DatasetName == "" {
		return "mnist"
	}
	return b.DatasetName
}

// NumBatches returns the number of batches in one epoch.
func (b *Batcher) NumBatches() int {
	bs := b.batchSize()
	if b.DropLast {
		return b.Set.N / bs
	}
	return (b.Set.N + bs - 1) / bs
}

// Order returns the example indices of epoch e in visiting order: 0..N−1 if Sequential, else a
// permutation that depends only on (Seed, e).
func (b *Batcher) Order(epoch int) []int {
	n := b.Set.N
	if b.Sequential {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		return order
	}
	rng := rand.New(rand.NewPCG(b.Seed, uint64(epoch)))
	return rng.Perm(n)
}

// EpochBatches returns the example indices of each batch of epoch e.
func (b *Batcher) EpochBatches(epoch int) [][]int {
	order := b.Order(epoch)
	bs := b.batchSize()
	batches := make([][]int, 0, b.NumBatches())
	for start := 0; start < len(order); start += bs {
		end := min(start+bs, len(order))
		if b.DropLast && end-start < bs {
			break
		}
		batches = append(batches, order[start:end])
	}
	return batches
}

// Tensors returns the normalised images [len(indices), 28, 28, 1] (in b's DType) and the labels
// [len(indices), 1] (int32) of the given examples.
func (b *Batcher) Tensors(indices []int) (images, labels *tensors.Tensor) {
	return BatchTensors(b.Set, indices, b.dtype())
}

// BatchTensors returns the normalised images [len(indices), rows, cols, 1] of the given dtype
// (Float32 or Float64) and the labels [len(indices), 1] (int32) of the given examples of s.
func BatchTensors(s *Set, indices []int, dtype dtypes.DType) (images, labels *tensors.Tensor) {
	lab := make([]int32, len(indices))
	for i, idx := range indices {
		lab[i] = int32(s.Labels[idx])
	}
	labels = tensors.FromFlatDataAndDimensions(lab, len(indices), 1)
	switch dtype {
	case dtypes.Float64:
		images = tensors.FromFlatDataAndDimensions(normalise[float64](s, indices), len(indices), s.Rows, s.Cols, 1)
	case dtypes.Float32:
		images = tensors.FromFlatDataAndDimensions(normalise[float32](s, indices), len(indices), s.Rows, s.Cols, 1)
	default:
		panic(fmt.Errorf("models: batch dtype %s not supported, want Float32 or Float64", dtype))
	}
	return images, labels
}

// normalise maps the pixels of the given examples to (x/255 − PixelMean)/PixelStd.
func normalise[T float32 | float64](s *Set, indices []int) []T {
	var table [256]T
	for v := range table {
		table[v] = T((float64(v)/255 - PixelMean) / PixelStd)
	}
	size := s.Rows * s.Cols
	out := make([]T, len(indices)*size)
	for i, idx := range indices {
		dst := out[i*size : (i+1)*size]
		for j, p := range s.Image(idx) {
			dst[j] = table[p]
		}
	}
	return out
}

// Iter implements train.Dataset: it yields the batches of the next epoch, or with Repeat of all
// epochs from the next one on.
func (b *Batcher) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for {
			epoch := b.nextEpoch
			b.nextEpoch++
			for _, indices := range b.EpochBatches(epoch) {
				images, labels := b.Tensors(indices)
				if !yield(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}}, nil) {
					return
				}
			}
			if !b.Repeat {
				return
			}
		}
	}
}

// Reset makes the next Iter start again at epoch 0.
func (b *Batcher) Reset() { b.nextEpoch = 0 }
