package models

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// syntheticSet returns n examples: image i has every pixel equal to i mod 256, label i mod 10.
func syntheticSet(n int) *Set {
	s := &Set{Images: make([]uint8, n*ImageSize), Labels: make([]uint8, n), N: n, Rows: ImageRows, Cols: ImageCols}
	for i := range n {
		for j := range ImageSize {
			s.Images[i*ImageSize+j] = uint8(i % 256)
		}
		s.Labels[i] = uint8(i % 10)
	}
	return s
}

func TestBatcherEpochs(t *testing.T) {
	set := syntheticSet(103)
	a, b := NewBatcher(set, 10, 99), NewBatcher(set, 10, 99)
	for epoch := range 3 {
		ea, eb := a.EpochBatches(epoch), b.EpochBatches(epoch)
		if len(ea) != 11 || len(ea[10]) != 3 {
			t.Fatalf("epoch %d: %d batches, last of %d; want 11, last of 3", epoch, len(ea), len(ea[len(ea)-1]))
		}
		if !slices.EqualFunc(ea, eb, slices.Equal) {
			t.Fatalf("epoch %d: same seed, different batches", epoch)
		}
		// Each epoch visits every example exactly once.
		seen := slices.Concat(ea...)
		slices.Sort(seen)
		for i, idx := range seen {
			if idx != i {
				t.Fatalf("epoch %d is not a permutation of 0..102", epoch)
			}
		}
	}
	// The order of the requests does not matter: epoch 2 asked first is epoch 2.
	if !slices.Equal(NewBatcher(set, 10, 99).Order(2), a.Order(2)) {
		t.Fatal("Order(2) depends on earlier calls")
	}
	if slices.Equal(a.Order(0), a.Order(1)) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if slices.Equal(a.Order(0), NewBatcher(set, 10, 100).Order(0)) {
		t.Error("seeds 99 and 100 give the same order")
	}
	drop := &Batcher{Set: set, BatchSize: 10, DropLast: true}
	if n := len(drop.EpochBatches(0)); n != 10 || drop.NumBatches() != 10 {
		t.Errorf("DropLast: %d batches (NumBatches %d), want 10", n, drop.NumBatches())
	}
	seq := &Batcher{Set: set, BatchSize: 50, Sequential: true}
	if got := seq.EpochBatches(5)[1]; got[0] != 50 || got[49] != 99 {
		t.Errorf("Sequential: second batch starts %d, ends %d", got[0], got[49])
	}
}

func TestBatcherTensorsAndIter(t *testing.T) {
	set := syntheticSet(30)
	b := NewBatcher(set, 8, 5)
	b.DType = dtypes.Float64
	// Iter yields epoch 0, then a second Iter epoch 1, with the batches EpochBatches describes.
	for epoch := range 2 {
		want := b.EpochBatches(epoch)
		k := 0
		for batch, err := range b.Iter() {
			if err != nil {
				t.Fatal(err)
			}
			images, labels := batch.Inputs[0], batch.Labels[0]
			if d := images.Shape().Dimensions; !slices.Equal(d, []int{len(want[k]), 28, 28, 1}) || images.DType() != dtypes.Float64 {
				t.Fatalf("images %s", images.Shape())
			}
			if d := labels.Shape().Dimensions; !slices.Equal(d, []int{len(want[k]), 1}) || labels.DType() != dtypes.Int32 {
				t.Fatalf("labels %s", labels.Shape())
			}
			px := tensors.MustCopyFlatData[float64](images)
			lab := tensors.MustCopyFlatData[int32](labels)
			for i, idx := range want[k] {
				wantPx := (float64(idx%256)/255 - PixelMean) / PixelStd
				if math.Abs(px[i*ImageSize+300]-wantPx) > 1e-12 || lab[i] != int32(idx%10) {
					t.Fatalf("epoch %d batch %d example %d: pixel %v label %d, want %v, %d", epoch, k, i, px[i*ImageSize+300], lab[i], wantPx, idx%10)
				}
			}
			_ = batch.Finalize()
			k++
		}
		if k != len(want) {
			t.Fatalf("epoch %d: Iter yielded %d batches, want %d", epoch, k, len(want))
		}
	}
	// The normalisation maps black to −0.4242 and white to 2.8215 (float32 by default).
	img, _ := BatchTensors(&Set{Images: append(make([]uint8, ImageSize-1), 255), Labels: []uint8{0}, N: 1, Rows: 28, Cols: 28}, []int{0}, dtypes.Float32)
	px := tensors.MustCopyFlatData[float32](img)
	if math.Abs(float64(px[0])+0.4242) > 1e-4 || math.Abs(float64(px[ImageSize-1])-2.8215) > 1e-4 {
		t.Errorf("normalised black %v, white %v", px[0], px[ImageSize-1])
	}
}

func TestFixedSample(t *testing.T) {
	set := syntheticSet(40)
	fs := FixedSample(set, 12)
	n := 0
	for batch, err := range fs.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		lab := tensors.MustCopyFlatData[int32](batch.Labels[0])
		if len(lab) != 12 || lab[0] != 0 || lab[11] != 1 {
			t.Fatalf("fixed sample batch %d: labels %v, want the first 12 examples in order", n, lab)
		}
		_ = batch.Finalize()
		if n++; n == 5 {
			break // Repeat: it never ends by itself
		}
	}
	if n != 5 {
		t.Fatalf("fixed sample stopped after %d batches", n)
	}
	if all := FixedSample(set, 0); all.Set.N != 40 || all.BatchSize != 40 {
		t.Errorf("FixedSample(set, 0) holds %d examples in batches of %d, want all 40", all.Set.N, all.BatchSize)
	}
}
