// Package trainvars lists the trainable variables a GoMLX graph uses, in the two orders qnlab's
// optimizers and operators need: the store's iteration order, which is the order of
// model.Scope.BuildTrainableVariablesGradientsGraph's gradients, and by path, so that sums over
// variables do not depend on the order a store created them in (a store restored from a
// checkpoint creates them in another order than a model's first run).
package trainvars

import (
	"iter"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Used returns the trainable variables of vs (a *model.Store or *model.Scope) that g uses, in
// vs's iteration order.
func Used(vs interface {
	IterVariables() iter.Seq[*model.Variable]
}, g *graph.Graph) []*model.Variable {
	var vars []*model.Variable
	for v := range vs.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	return vars
}

// ByPath returns the permutation that orders vars by path: vars[order[0]] has the smallest.
func ByPath(vars []*model.Variable) (order []int) {
	order = make([]int, len(vars))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(vars[a].Path(), vars[b].Path()) })
	return order
}

// UsedByPath is Used ordered by path.
func UsedByPath(vs interface {
	IterVariables() iter.Seq[*model.Variable]
}, g *graph.Graph) []*model.Variable {
	vars := Used(vs, g)
	out := make([]*model.Variable, len(vars))
	for i, k := range ByPath(vars) {
		out[i] = vars[k]
	}
	return out
}
