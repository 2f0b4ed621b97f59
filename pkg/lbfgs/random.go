package lbfgs

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandomHistory returns a full history of m random curvature pairs of length d, for tests and
// demonstrations: s ~ N(0, I) and y = D·s + e, with D diagonal, log-uniform in [0.1, 10] (so
// the pairs' curvature spans a condition number of about 100) and small noise e ~ N(0, σ²I),
// σ = 0.05‖s‖/√d, so the pairs do not all come from one quadratic. Pairs the history rejects
// are redrawn. The same seed gives the same pairs.
func RandomHistory(m, d int, seed uint64) (*History, error) {
	if d < 1 {
		return nil, fmt.Errorf("lbfgs: RandomHistory: dimension d=%d must be ≥ 1", d)
	}
	h, err := NewHistory(m, 0)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	D := make([]float64, d)
	for i := range D {
		D[i] = math.Pow(10, 2*rng.Float64()-1)
	}
	for tries := 0; h.Len() < m; tries++ {
		if tries > 100*m {
			return nil, fmt.Errorf("lbfgs: RandomHistory: could not draw %d valid pairs in d=%d", m, d)
		}
		s := RandomVector(d, rng.Uint64())
		ns := norm(s)
		y := make([]float64, d)
		for i := range y {
			y[i] = D[i]*s[i] + 0.05*ns/math.Sqrt(float64(d))*rng.NormFloat64()
		}
		_ = h.Push(s, y) // a rejected pair is redrawn
	}
	return h, nil
}

// RandomVector returns a vector of d standard normal numbers drawn with the given seed.
func RandomVector(d int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x7ec))
	v := make([]float64, d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}
