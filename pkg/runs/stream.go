package runs

import (
	"iter"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"qnlab/pkg/models"
)

// stream is a run's training data as a train.Dataset: batch b of the run is batch b mod n of
// epoch b / n (n batches per epoch, Batcher's seeded permutations), and each batch is yielded
// inner times in a row. Iter starts at global step next, so a resumed run sees the same data.
type stream struct {
	b     *models.Batcher
	inner int
	next  int
}

func (d *stream) Name() string { return d.b.Name() }

func (d *stream) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for {
			bi := d.next / d.inner
			n := d.b.NumBatches()
			indices := d.b.EpochBatches(bi / n)[bi%n]
			images, labels := d.b.Tensors(indices)
			d.next++
			if !yield(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}}, nil) {
				return
			}
		}
	}
}
