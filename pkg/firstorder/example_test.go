package firstorder_test

import (
	"fmt"

	"qnlab/pkg/backend"
	"qnlab/pkg/firstorder"
	"qnlab/pkg/funcs"
)

// The lecture's example 2: θ1² + θ2² from (2, 3) with gd, α = 0.1.
func ExampleRun() {
	f, _ := funcs.Sphere(2)
	tr, err := firstorder.Run(backend.MustDefault(), f, firstorder.GD, firstorder.Hyper{LR: 0.1}, []float64{2, 3}, 2)
	if err != nil {
		panic(err)
	}
	for k, x := range tr.X {
		fmt.Printf("Θ%d = (%.4g, %.4g)  f = %.4g\n", k, x[0], x[1], tr.F[k])
	}
	// Output:
	// Θ0 = (2, 3)  f = 13
	// Θ1 = (1.6, 2.4)  f = 8.32
	// Θ2 = (1.28, 1.92)  f = 5.325
}
