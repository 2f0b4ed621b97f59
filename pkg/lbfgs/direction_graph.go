package lbfgs

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/ml/model"
)

// graphDirection is the training optimizer's direction seam: d = −H_k·g over the slot history,
// after the step's new pair was offered to it (accept: whether it entered). An implementation
// owns only its own state, as non-trainable variables under scope (checkpoints carry them).
// Variants of the optimizer plug in here.
type graphDirection interface {
	direction(scope *model.Scope, h *slotHistory, g []*Node, accept *Node, rule GammaRule) []*Node
}

// twoLoopDirection is the two-loop recursion (Nocedal & Wright 2006, Alg. 7.4) over the slots,
// with γ from the stored per-slot products: no state of its own and no pass over the history
// beyond the recursion's. The optimizer's default.
type twoLoopDirection struct{}

func (twoLoopDirection) direction(_ *model.Scope, h *slotHistory, g []*Node, _ *Node, rule GammaRule) []*Node {
	return twoLoopWith(g, h.s, h.y, h.rhos(), h.gamma(rule)).d
}

// compactDirection is the compact representation (compact). Its state is the Gram matrices
// SᵀY and YᵀY of the slots, [m, m], updated in place of recomputed.
type compactDirection struct{}

func (compactDirection) direction(scope *model.Scope, h *slotHistory, g []*Node, accept *Node, rule GammaRule) []*Node {
	dtype := g[0].DType()
	gram := func(name string) *model.Variable {
		return scope.VariableWithShape(name, shapes.Make(dtype, h.m, h.m)).SetTrainable(false)
	}
	syVar, yyVar := gram("SY"), gram("YY")
	d, _, SY, YY := compact(g, h, syVar.NodeValue(h.count.Graph()), yyVar.NodeValue(h.count.Graph()), accept, rule)
	syVar.SetNodeValue(SY)
	yyVar.SetNodeValue(YY)
	return d
}
