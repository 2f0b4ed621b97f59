package lbfgs

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
)

// compact is the L-BFGS direction by the compact representation of the L-BFGS matrix
// (Byrd, Nocedal & Schnabel 1994, Thm. 2.2 (2.6); Nocedal & Wright 2006, §7.2):
//
//	H_k = γI + [S  γY] [ R⁻ᵀ(D + γYᵀY)R⁻¹   −R⁻ᵀ ] [ Sᵀ  ]
//	                   [ −R⁻¹                 0  ] [ γYᵀ ]
//
// with S, Y the pairs as columns (oldest first), R the upper triangle of SᵀY (r_ij = s_iᵀy_j,
// i ≤ j) and D its diagonal. So H_k·g = γg + S·u + γY·v with a = Sᵀg, b = Yᵀg,
// v = −R⁻¹a and u = R⁻ᵀ(−(D + γYᵀY)v − γb): two passes over the pairs as matrix products (the
// products, then the combination) instead of the two-loop's 4m dependent dot/axpy passes.
//
// h already holds the new pair in slot m−1 if accept is true. SY = SᵀY and YY = YᵀY are the
// [m, m] Gram matrices of the slots before the new pair entered; compact returns them updated
// (shifted up-left by one, with the new last row and column from the same products), or
// unchanged if accept is false. Empty slots get r_ii = 1, so they drop out.
//
// Measured on the pure-Go backend it is slower than the two-loop (see Optimizer): it must stack
// the slots into one matrix per parameter, a copy of the whole history. It is the tested
// reference for backends where two matrix products beat 4m dependent passes.
func compact(g []*Node, h *slotHistory, SY, YY, accept *Node, rule GammaRule) (d []*Node, gamma, newSY, newYY *Node) {
	m, s, y, count := h.m, h.s, h.y, h.count
	dtype := g[0].DType()
	gr := g[0].Graph()
	// One pass over the history: H_j [2m, n_j] (s slots then y slots) times [g_j; s_new; y_new].
	H := stackSlots(s, y)
	P := Zeros(gr, shapes.Make(dtype, 2*m, 3))
	for j, hj := range H {
		n := g[j].Shape().Size()
		V := Concatenate([]*Node{Reshape(g[j], 1, n), Reshape(s[m-1][j], 1, n), Reshape(y[m-1][j], 1, n)}, 0)
		P = Add(P, DotGeneral(hj, []int{1}, nil, V, []int{1}, nil))
	}
	col := func(c, from, to int) *Node { return Squeeze(Slice(P, AxisRange(from, to), AxisElem(c)), 1) }
	a, b := col(0, 0, m), col(0, m, 2*m)
	SY, YY = gramUpdate(SY, YY, col(1, m, 2*m), col(2, 0, m), col(2, m, 2*m), accept)

	valid := validMask(count, m, dtype) // [m], 1 for the last count slots
	diagSY := diagonal(SY)
	gamma = gammaOf(diagSY, diagonal(YY), count, rule)

	// R: upper triangle of SY, with 1 on the diagonal of empty slots.
	R := Add(Mul(SY, triangleMask(gr, m, dtype)), diagMatrix(OneMinus(valid)))
	v := Neg(solveUpper(R, a))
	w := Sub(Neg(matVec(Add(diagMatrix(diagSY), Mul(gamma, YY)), v)), Mul(gamma, b))
	u := solveLowerTransposed(R, w)

	// Second pass: d_j = −(γ g_j + H_jᵀ [u; γv]).
	c := Concatenate([]*Node{u, Mul(gamma, v)}, 0)
	d = make([]*Node, len(g))
	for j, hj := range H {
		n := g[j].Shape().Size()
		hc := DotGeneral(c, []int{0}, nil, hj, []int{0}, nil) // [n_j]
		d[j] = Neg(Reshape(Add(Mul(gamma, Reshape(g[j], n)), hc), g[j].Shape().Dimensions...))
	}
	return d, gamma, SY, YY
}

// stackSlots stacks, per parameter j, the flattened s slots and then the y slots: [2m, n_j].
func stackSlots(s, y [][]*Node) []*Node {
	H := make([]*Node, len(s[0]))
	for j := range H {
		n := s[0][j].Shape().Size()
		rows := make([]*Node, 0, 2*len(s))
		for i := range s {
			rows = append(rows, Reshape(s[i][j], 1, n))
		}
		for i := range y {
			rows = append(rows, Reshape(y[i][j], 1, n))
		}
		H[j] = Concatenate(rows, 0)
	}
	return H
}

// gramUpdate shifts SY and YY up-left by one slot and puts the new pair's products last:
// SY's last row is yᵀs_new (row[j] = y_jᵀs_new), its last column sᵀy_new (col[i] = s_iᵀy_new),
// YY's last row and column yᵀy_new. Where accept is false it returns SY and YY unchanged.
func gramUpdate(SY, YY, row, col, yy, accept *Node) (newSY, newYY *Node) {
	m := SY.Shape().Dimensions[0]
	dtype := SY.DType()
	gr := SY.Graph()
	if m == 1 {
		return Where(accept, Reshape(row, 1, 1), SY), Where(accept, Reshape(yy, 1, 1), YY)
	}
	shiftUpLeft := func(M *Node) *Node {
		inner := Slice(M, AxisRange(1, m), AxisRange(1, m)) // [m-1, m-1]
		inner = Concatenate([]*Node{inner, Zeros(gr, shapes.Make(dtype, m-1, 1))}, 1)
		return Concatenate([]*Node{inner, Zeros(gr, shapes.Make(dtype, 1, m))}, 0)
	}
	lastRow := lastMask(gr, m, dtype, 0)
	lastCol := Mul(lastMask(gr, m, dtype, 1), OneMinus(lastRow))
	place := func(base, rowVals, colVals *Node) *Node {
		return Add(Add(Mul(base, OneMinus(Add(lastRow, lastCol))), Mul(lastRow, ExpandAxes(rowVals, 0))), Mul(lastCol, ExpandAxes(colVals, 1)))
	}
	return Where(accept, place(shiftUpLeft(SY), row, col), SY), Where(accept, place(shiftUpLeft(YY), yy, yy), YY)
}

// validMask is [m] with 1 at the last count positions.
func validMask(count *Node, m int, dtype dtypes.DType) *Node {
	idx := Iota(count.Graph(), shapes.Make(dtype, m), 0)
	return ConvertDType(GreaterOrEqual(idx, Sub(ConstAs(count, m), ConvertDType(count, dtype))), dtype)
}

func diagonal(M *Node) *Node {
	m := M.Shape().Dimensions[0]
	return ReduceSum(Mul(M, Const(M.Graph(), identityData(m, M.DType()))), 1)
}

func diagMatrix(v *Node) *Node {
	m := v.Shape().Dimensions[0]
	return Mul(ExpandAxes(v, 1), Const(v.Graph(), identityData(m, v.DType())))
}

func identityData(m int, dtype dtypes.DType) any {
	I := make([][]float64, m)
	for i := range I {
		I[i] = make([]float64, m)
		I[i][i] = 1
	}
	if dtype == dtypes.Float32 {
		I32 := make([][]float32, m)
		for i := range I {
			I32[i] = make([]float32, m)
			I32[i][i] = 1
		}
		return I32
	}
	return I
}

// triangleMask is the [m, m] 0/1 mask of the upper triangle (i ≤ j).
func triangleMask(g *Graph, m int, dtype dtypes.DType) *Node {
	i := Iota(g, shapes.Make(dtypes.Int32, m, m), 0)
	j := Iota(g, shapes.Make(dtypes.Int32, m, m), 1)
	return ConvertDType(LessOrEqual(i, j), dtype)
}

// lastMask is the [m, m] 0/1 mask of the last row (axis 0) or the last column (axis 1).
func lastMask(g *Graph, m int, dtype dtypes.DType, axis int) *Node {
	return ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, m, m), axis), Const(g, int32(m-1))), dtype)
}

func matVec(M, v *Node) *Node { return DotGeneral(M, []int{1}, nil, v, []int{0}, nil) }

// solveUpper solves R x = a for upper-triangular R [m, m] by back substitution (m small).
func solveUpper(R, a *Node) *Node {
	m := a.Shape().Dimensions[0]
	x := make([]*Node, m)
	for i := m - 1; i >= 0; i-- {
		r := Slice(R, AxisElem(i)) // [1, m]
		acc := Squeeze(Slice(a, AxisElem(i)), 0)
		for k := i + 1; k < m; k++ {
			acc = Sub(acc, Mul(Squeeze(Slice(r, AxisElem(0), AxisElem(k)), 0, 1), x[k]))
		}
		x[i] = Div(acc, Squeeze(Slice(r, AxisElem(0), AxisElem(i)), 0, 1))
	}
	return Stack(x, 0)
}

// solveLowerTransposed solves Rᵀ z = w for upper-triangular R by forward substitution.
func solveLowerTransposed(R, w *Node) *Node {
	m := w.Shape().Dimensions[0]
	z := make([]*Node, m)
	for i := range m {
		acc := Squeeze(Slice(w, AxisElem(i)), 0)
		for k := range i {
			acc = Sub(acc, Mul(Squeeze(Slice(R, AxisElem(k), AxisElem(i)), 0, 1), z[k]))
		}
		z[i] = Div(acc, Squeeze(Slice(R, AxisElem(i), AxisElem(i)), 0, 1))
	}
	return Stack(z, 0)
}
