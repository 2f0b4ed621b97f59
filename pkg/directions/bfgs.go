package directions

import (
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/lbfgs"
)

// BFGS is the quasi-Newton method with the full n×n inverse-Hessian approximation H_k (the
// lecture's BFGS slide; Nocedal & Wright 2006 Alg. 6.1): p = −H_k·g, H_{k+1} = BFGSUpdate(H_k,
// s, y) (eq. 6.17, lbfgs.BFGSUpdate), H_0 = (yᵀs/yᵀy)·I set after the first step (eq. 6.20). It
// costs n² memory and O(n²) per step where L-BFGS costs O(mn); from the same pairs, L-BFGS with
// m ≥ k equals it (the two-loop recursion's proof). A pair is kept only if it passes lbfgs's
// curvature test (lbfgs.History's Push, with DefaultCurvature).
type BFGS struct {
	H *mat.SymDense // nil until the first accepted pair
}

// Init implements lbfgs.Direction.
func (b *BFGS) Init(x, g []float64) error {
	b.H = nil
	return nil
}

// Next implements lbfgs.Direction: −H·g, or −g before the first pair.
func (b *BFGS) Next(x, g []float64) ([]float64, error) {
	if b.H == nil {
		return neg(g), nil
	}
	var p mat.VecDense
	p.MulVec(b.H, mat.NewVecDense(len(g), g))
	out := p.RawVector().Data
	for i := range out {
		out[i] = -out[i]
	}
	return out, nil
}

// Update implements lbfgs.Direction: the BFGS update with the pair, unless it fails the
// curvature test (or is not finite).
func (b *BFGS) Update(s, y []float64) bool {
	h := &lbfgs.History{M: 1}
	if h.Push(s, y) != nil {
		return false
	}
	pair := h.Pairs()[0]
	if b.H == nil {
		n := len(s)
		b.H = mat.NewSymDense(n, nil)
		gamma := dot(s, y) / dot(y, y)
		for i := range n {
			b.H.SetSym(i, i, gamma)
		}
	}
	b.H = lbfgs.BFGSUpdate(b.H, pair)
	return true
}

// Reset implements lbfgs.Direction: H is forgotten.
func (b *BFGS) Reset() bool {
	had := b.H != nil
	b.H = nil
	return had
}

// UnitStep implements lbfgs.Direction: α = 1 once H exists.
func (b *BFGS) UnitStep() bool { return b.H != nil }

func (b *BFGS) String() string { return "BFGS (dense)" }
