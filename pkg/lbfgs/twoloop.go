package lbfgs

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
)

// TwoLoop returns the L-BFGS direction d = −H_k·g and the scaling γ_k, computed by the two-loop
// recursion (Nocedal & Wright 2006, Alg. 7.4) as graph operations.
//
// g is the gradient as a list of parameter tensors (any shapes); s[i] and y[i] are pair i in
// the same layout, oldest first, so s[len(s)-1] is s_{k-1}. All nodes share one dtype. ρ_i is
// recomputed in the graph from the pairs, which must have y_iᵀs_i > 0 (History.Push ensures
// it). H_0 = γ_k·I with γ_k = s_{k-1}ᵀy_{k-1}/(y_{k-1}ᵀy_{k-1}) (eq. 7.20); with no pairs,
// d = −g and γ_k = 1.
func TwoLoop(g []*Node, s, y [][]*Node) (d []*Node, gamma *Node) {
	t := twoLoop(g, s, y)
	return t.d, t.gamma
}

// recursion is the two-loop recursion with its intermediate vectors, for the step-by-step proof:
// q[i] is q after the first loop processed pair i, i.e. q_i = V_i⋯V_{k-1}·g; r[i] is r after
// the second loop processed pair i, i.e. r_i = H^{(i+1)}·q_{i+1} where H^{(i+1)} is H_0
// updated with pairs 0..i by eq. (7.16) (and q_m = g). r[m-1] = H_k·g.
type recursion struct {
	d     []*Node
	gamma *Node
	alpha []*Node
	q, r  [][]*Node
}

func twoLoop(g []*Node, s, y [][]*Node) recursion {
	m := len(s)
	if m == 0 {
		d := make([]*Node, len(g))
		for j, gj := range g {
			d[j] = Neg(gj)
		}
		return recursion{d: d, gamma: ScalarOne(g[0].Graph(), g[0].DType())}
	}
	rho := make([]*Node, m)
	for i := range m {
		rho[i] = Reciprocal(dotList(y[i], s[i]))
	}
	gamma := Div(dotList(s[m-1], y[m-1]), dotList(y[m-1], y[m-1]))
	return twoLoopWith(g, s, y, rho, gamma)
}

// twoLoopWith is Alg. 7.4 with ρ_i and γ_k given. A pair with ρ_i = 0 and s_i = y_i = 0 drops
// out exactly (α_i = β = 0), which lets a fixed-capacity history hold empty slots.
func twoLoopWith(g []*Node, s, y [][]*Node, rho []*Node, gamma *Node) recursion {
	t := twoLoopH0(g, s, y, rho, func(q []*Node) []*Node { return scaleList(gamma, q) })
	t.gamma = gamma
	return t
}

// twoLoopH0 is Alg. 7.4 with ρ_i given and H_0 applied by h0 (γ_k·I for twoLoopWith, a diagonal
// for the stochastic optimizers' DiagonalH0).
func twoLoopH0(g []*Node, s, y [][]*Node, rho []*Node, h0 func(q []*Node) []*Node) recursion {
	m := len(s)
	t := recursion{alpha: make([]*Node, m), q: make([][]*Node, m), r: make([][]*Node, m)}

	// First loop, newest to oldest: α_i = ρ_i s_iᵀq; q ← q − α_i y_i.
	q := g
	for i := m - 1; i >= 0; i-- {
		t.alpha[i] = Mul(rho[i], dotList(s[i], q))
		q = axpyList(Neg(t.alpha[i]), y[i], q)
		t.q[i] = q
	}

	// r ← H_0 q.
	r := h0(q)

	// Second loop, oldest to newest: β = ρ_i y_iᵀr; r ← r + s_i(α_i − β).
	for i := range m {
		beta := Mul(rho[i], dotList(y[i], r))
		r = axpyList(Sub(t.alpha[i], beta), s[i], r)
		t.r[i] = r
	}
	t.d = make([]*Node, len(r))
	for j := range r {
		t.d[j] = Neg(r[j])
	}
	return t
}

// dotList is Σ_j ⟨a_j, b_j⟩ over a list of tensors: one scalar. Each term is a DotGeneral over
// the flattened tensors (the pure-Go backend's dot kernel is ~8× faster than ReduceAllSum∘Mul).
func dotList(a, b []*Node) *Node {
	var sum *Node
	for j := range a {
		n := a[j].Shape().Size()
		p := DotGeneral(Reshape(a[j], n), []int{0}, nil, Reshape(b[j], n), []int{0}, nil)
		if sum == nil {
			sum = p
		} else {
			sum = Add(sum, p)
		}
	}
	return sum
}

// axpyList returns alpha·x + y elementwise over a list of tensors (alpha a scalar node).
func axpyList(alpha *Node, x, y []*Node) []*Node {
	out := make([]*Node, len(x))
	for j := range x {
		out[j] = Add(Mul(alpha, x[j]), y[j])
	}
	return out
}

// scaleList returns alpha·x over a list of tensors (alpha a scalar node).
func scaleList(alpha *Node, x []*Node) []*Node {
	out := make([]*Node, len(x))
	for j := range x {
		out[j] = Mul(alpha, x[j])
	}
	return out
}
