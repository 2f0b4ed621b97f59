package runs

import (
	"iter"
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
)

// stream is a run's training data as a train.Dataset: batch b of the run is batch b mod n of
// epoch b / n (n batches per epoch, Batcher's seeded permutations), and each batch is yielded
// inner times in a row. Iter starts at global step next, so a resumed run sees the same data.
type stream struct {
	b     *models.Batcher
	inner int
	next  int
	// spec, if not nil, gives each step's train.Batch.Spec (precond.Optimizer.SpecAt).
	spec func(step int) any
}

func (d *stream) Name() string { return d.b.Name() }

func (d *stream) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for {
			bi := d.next / d.inner
			n := d.b.NumBatches()
			indices := d.b.EpochBatches(bi / n)[bi%n]
			images, labels := d.b.Tensors(indices)
			var spec any
			if d.spec != nil {
				spec = d.spec(d.next)
			}
			d.next++
			if !yield(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}, Spec: spec}, nil) {
				return
			}
		}
	}
}

// windowStream is a stochastic L-BFGS run's training data (lbfgs.Layout): the examples in the
// order of the Batcher's epoch permutations, one after the other, and step k's window the
// Window examples from position k·Stride on, so that it starts with the previous window's last
// Shared examples. With Layout.Every, step k with (k+1) mod Every = 0 also carries
// HessianBatch examples drawn without replacement by a generator seeded with (seed, k). Like
// stream, it depends on the global step only: a resumed run sees the same data.
type windowStream struct {
	b    *models.Batcher
	lay  lbfgs.Layout
	seed uint64
	next int

	perms map[int][]int // epoch → permutation (the last two epochs used)
}

func (d *windowStream) Name() string { return d.b.Name() }

// position returns the example at position p of the sequence.
func (d *windowStream) position(p int) int {
	n := d.b.Set.N
	e := p / n
	perm, ok := d.perms[e]
	if !ok {
		if d.perms == nil || len(d.perms) > 1 {
			d.perms = map[int][]int{}
		}
		perm = d.b.Order(e)
		d.perms[e] = perm
	}
	return perm[p%n]
}

// window returns the example indices of step k's window.
func (d *windowStream) window(k int) []int {
	out := make([]int, d.lay.Window)
	for i := range out {
		out[i] = d.position(k*d.lay.Stride() + i)
	}
	return out
}

// hessianSample returns the Hessian batch of step k.
func (d *windowStream) hessianSample(k int) []int {
	rng := rand.New(rand.NewPCG(d.seed^0x5153_4e48, uint64(k))) // "SQNH"
	return rng.Perm(d.b.Set.N)[:d.lay.HessianBatch]
}

func (d *windowStream) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for {
			k := d.next
			images, labels := d.b.Tensors(d.window(k))
			batch := train.Batch{Inputs: []*tensors.Tensor{images, labels}}
			if d.lay.Every > 0 && (k+1)%d.lay.Every == 0 {
				hi, hl := d.b.Tensors(d.hessianSample(k))
				batch.Inputs = append(batch.Inputs, hi, hl)
				batch.Spec = lbfgs.HessianStep
			}
			d.next++
			if !yield(batch, nil) {
				return
			}
		}
	}
}
