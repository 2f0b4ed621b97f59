package autodiff

import (
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"
)

// randomTensor returns a float64 tensor of the given dimensions with N(0, 1) entries from rng
// (as pkg/models' tests: test helpers cannot be shared across packages).
func randomTensor(rng *rand.Rand, dims ...int) (*tensors.Tensor, []float64) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	flat := make([]float64, n)
	for i := range flat {
		flat[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), flat...), dims...), flat
}

func flat64(t *tensors.Tensor) []float64 { return tensors.MustCopyFlatData[float64](t) }
