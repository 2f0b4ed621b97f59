package lbfgs

import (
	"gonum.org/v1/gonum/mat"
)

// DenseInverseHessian returns H_k of Nocedal & Wright eq. (7.19) (the seed note's formula (2))
// for the pairs (oldest first) and H_0 = gamma·I, computed term by term with dense matrices:
// with P_j = V_j⋯V_{k-1} (P_k = I),
//
//	H_k = P_0ᵀ H_0 P_0 + Σ_j ρ_j P_{j+1}ᵀ s_j s_jᵀ P_{j+1}.
//
// It takes O(d²) memory and O(m·d² + d³) time: a reference for tests and the notebook, not a
// way to optimise. Pairs need ρ_j = 1/(y_jᵀs_j) set (History.Push does it).
func DenseInverseHessian(pairs []Pair, gamma float64) *mat.SymDense {
	d := dim(pairs)
	if d == 0 {
		return nil
	}
	m := len(pairs)
	H := mat.NewSymDense(d, nil)
	P := identity(d) // P_{j+1}, starting from P_k = I.
	v := mat.NewVecDense(d, nil)
	for j := m - 1; j >= 0; j-- {
		s, y := mat.NewVecDense(d, pairs[j].S), mat.NewVecDense(d, pairs[j].Y)
		// Term j: ρ_j (P_{j+1}ᵀ s_j)(P_{j+1}ᵀ s_j)ᵀ.
		v.MulVec(P.T(), s)
		H.SymRankOne(H, pairs[j].Rho, v)
		// P_j = V_j P_{j+1} = P_{j+1} − ρ_j y_j (s_jᵀ P_{j+1}) = P_{j+1} − ρ_j y_j vᵀ.
		P.RankOne(P, -pairs[j].Rho, y, v)
	}
	// Leading term: P_0ᵀ (γ I) P_0 = γ (P_0ᵀ)(P_0ᵀ)ᵀ.
	lead := mat.NewSymDense(d, nil)
	lead.SymOuterK(gamma, P.T())
	H.AddSym(H, lead)
	return H
}

// BFGSUpdate returns the BFGS update of an inverse-Hessian approximation, Nocedal & Wright
// eq. (7.16) (the seed note's (1)): H₊ = VᵀHV + ρssᵀ with V = I − ρysᵀ. Expanded with
// w = Hy: H₊ = H − ρ(swᵀ + wsᵀ) + (ρ²·yᵀw + ρ)ssᵀ.
func BFGSUpdate(H *mat.SymDense, p Pair) *mat.SymDense {
	d := H.SymmetricDim()
	s, y := mat.NewVecDense(d, p.S), mat.NewVecDense(d, p.Y)
	w := mat.NewVecDense(d, nil)
	w.MulVec(H, y)
	out := mat.NewSymDense(d, nil)
	out.RankTwo(H, -p.Rho, s, w)
	out.SymRankOne(out, p.Rho*p.Rho*mat.Dot(y, w)+p.Rho, s)
	return out
}

// DenseUpdates returns H^{(0)} = gamma·I and H^{(i+1)} = BFGSUpdate(H^{(i)}, pairs[i]) for every
// pair, oldest first: len(pairs)+1 matrices, the last equal to DenseInverseHessian's result.
// The proof of the two-loop recursion is stated in terms of these.
func DenseUpdates(pairs []Pair, gamma float64) []*mat.SymDense {
	d := dim(pairs)
	if d == 0 {
		return nil
	}
	H := mat.NewSymDense(d, nil)
	for i := range d {
		H.SetSym(i, i, gamma)
	}
	out := []*mat.SymDense{H}
	for _, p := range pairs {
		H = BFGSUpdate(H, p)
		out = append(out, H)
	}
	return out
}

func dim(pairs []Pair) int {
	if len(pairs) == 0 {
		return 0
	}
	return len(pairs[0].S)
}

func identity(d int) *mat.Dense {
	I := mat.NewDense(d, d, nil)
	for i := range d {
		I.Set(i, i, 1)
	}
	return I
}
