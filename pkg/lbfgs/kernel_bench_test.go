package lbfgs

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute/dtypes"
)

// BenchmarkKernelDirection measures one Kernel.Direction call (host slices in and out, one
// graph execution) for m = 10 pairs at several dimensions.
func BenchmarkKernelDirection(b *testing.B) {
	for _, d := range []int{2, 100, 10000} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			h, err := RandomHistory(10, d, 1)
			if err != nil {
				b.Fatal(err)
			}
			g := RandomVector(d, 2)
			k := testKernel(b, dtypes.Float64)
			if _, _, err := k.Direction(h, g); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, _, err := k.Direction(h, g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
