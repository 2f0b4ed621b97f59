package lbfgs

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
)

// slotHistory is History in the graph, as the training optimizer keeps it: m slots per
// parameter, oldest first, the newest pair in slot m−1 and the last count slots valid; empty
// slots hold zeros and ρ = 0, so they drop out of the two-loop recursion exactly
// (twoLoopWith). rho and yy are [m]: ρ_i = 1/(y_iᵀs_i) and y_iᵀy_i per slot, kept so that γ
// needs no pass over the history. Its values are graph nodes; the optimizer reads them from
// its variables and writes them back.
type slotHistory struct {
	m       int
	s, y    [][]*Node // s[i][j]: slot i of parameter j
	rho, yy *Node     // [m]
	count   *Node     // scalar, the loss's dtype
}

// checkSlots panics (as graph builders do) with an error unless the shapes agree.
func (h *slotHistory) checkSlots() {
	if len(h.s) != h.m || len(h.y) != h.m || h.rho.Shape().Dimensions[0] != h.m || h.yy.Shape().Dimensions[0] != h.m {
		panic(fmt.Errorf("lbfgs: slot history of size %d has %d s slots, %d y slots, ρ %s, yᵀy %s",
			h.m, len(h.s), len(h.y), h.rho.Shape(), h.yy.Shape()))
	}
}

// push offers the pair (s, y) (lists of tensors, one per parameter) when isPair is true: it is
// accepted if finite and passing test, as History.Push. An accepted pair enters slot m−1 and
// shifts the older ones down by one, dropping the oldest; Where with a scalar condition passes
// whole buffers through, so the shift moves no data. It returns accept, a boolean scalar.
func (h *slotHistory) push(s, y []*Node, isPair *Node, test Curvature) (accept *Node) {
	h.checkSlots()
	ys, ss, yy := dotList(y, s), dotList(s, s), dotList(y, y)
	finite := LogicalAnd(LogicalAnd(IsFinite(ys), IsFinite(ss)), IsFinite(yy))
	accept = LogicalAnd(LogicalAnd(isPair, finite), test.accepts(ys, ss, yy))
	h.s, h.y = shiftSlots(h.s, s, accept), shiftSlots(h.y, y, accept)
	one := OnesLike(ys)
	h.rho = Where(accept, shiftIn(h.rho, Reciprocal(Where(accept, ys, one))), h.rho)
	h.yy = Where(accept, shiftIn(h.yy, yy), h.yy)
	h.count = Where(accept, Min(AddScalar(h.count, 1), ConstAs(h.count, h.m)), h.count)
	return accept
}

// shiftSlots returns the slots shifted down by one with newest last, where accept is true.
func shiftSlots(slots [][]*Node, newest []*Node, accept *Node) [][]*Node {
	m := len(slots)
	out := make([][]*Node, m)
	for i := range m {
		next := newest
		if i+1 < m {
			next = slots[i+1]
		}
		out[i] = make([]*Node, len(newest))
		for j := range newest {
			out[i][j] = Where(accept, next[j], slots[i][j])
		}
	}
	return out
}

// shiftIn drops the oldest entry of h [m] and appends x as the newest (for the small ρ vector).
func shiftIn(h, x *Node) *Node {
	m := h.Shape().Dimensions[0]
	if m == 1 {
		return ExpandAxes(x, 0)
	}
	return Concatenate([]*Node{Slice(h, AxisRange(1, m)), ExpandAxes(x, 0)}, 0)
}

// sy returns s_iᵀy_i = 1/ρ_i per slot, 0 for empty slots.
func (h *slotHistory) sy() *Node {
	valid := GreaterThan(h.rho, ZerosLike(h.rho))
	return Where(valid, Reciprocal(Where(valid, h.rho, OnesLike(h.rho))), ZerosLike(h.rho))
}

// gamma returns γ_k of H_0 = γ_k·I by rule, from the stored per-slot products.
func (h *slotHistory) gamma(rule GammaRule) *Node {
	return gammaOf(h.sy(), h.yy, h.count, rule)
}

// rhos returns ρ_i as m scalars.
func (h *slotHistory) rhos() []*Node {
	out := make([]*Node, h.m)
	for i := range h.m {
		out[i] = Squeeze(Slice(h.rho, AxisElem(i)), 0)
	}
	return out
}
