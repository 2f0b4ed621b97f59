package precond

import (
	"fmt"
	"path"
	"sort"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/internal/trainvars"
	"qnlab/pkg/models"
)

// Optimizer is what K-FAC and Shampoo add to GoMLX's optimizer.Interface: a model function that
// records the model's layers, the kind of each step, and the host refresh of the
// preconditioners every T steps.
type Optimizer interface {
	optimizer.Interface
	// ModelFn wraps a model for GoMLX's trainer: it records the model's layers (models.Layer) in
	// every training graph and hands the step's kind (SpecAt) to UpdateGraph.
	ModelFn(fn models.ModelFn) func(scope *model.Scope, spec any, images *Node) *Node
	// SpecAt is the train.Batch.Spec of the step with 0-based index step: StatsStep for a step
	// that also accumulates the curvature statistics, nil for a plain one.
	SpecAt(step int) any
	// Due says whether the preconditioners are refreshed after step (the 1-based count of steps
	// taken, the global step).
	Due(step int) bool
	// Refresh recomputes the preconditioners (inverses, inverse roots) from the statistics in
	// store, on the host, after the given step.
	Refresh(store *model.Store, step int) error
}

// StepSpec is the kind of a training step, as train.Batch.Spec carries it: GoMLX compiles one
// graph per kind, so plain steps pay nothing for the statistics.
type StepSpec int

// StatsStep marks a step that also accumulates the curvature statistics.
const StatsStep StepSpec = 1

// graphParamStats and graphParamLogits are root-scope graph parameters: whether the graph
// accumulates statistics, and the model's output.
const (
	graphParamStats  = "qnlab_precond_stats"
	graphParamLogits = "qnlab_precond_logits"
)

// modelFn is Optimizer.ModelFn for both optimizers.
func modelFn(fn models.ModelFn) func(scope *model.Scope, spec any, images *Node) *Node {
	return func(scope *model.Scope, spec any, images *Node) *Node {
		g := images.Graph()
		root := scope.Store().RootScope()
		models.RecordLayers(scope, g)
		if s, _ := spec.(StepSpec); s == StatsStep {
			root.SetGraphParam(g, graphParamStats, true)
		}
		logits := fn(scope, images)
		root.SetGraphParam(g, graphParamLogits, logits)
		return logits
	}
}

// isStats reports whether g accumulates statistics (a StatsStep graph).
func isStats(scope *model.Scope, g *Graph) bool {
	return model.GetGraphParamOr(scope.Store().RootScope(), g, graphParamStats, false)
}

// logitsOf returns the model's output recorded by modelFn.
func logitsOf(scope *model.Scope, g *Graph) *Node {
	v, ok := scope.Store().RootScope().GetGraphParam(g, graphParamLogits)
	if !ok {
		panic(fmt.Errorf("precond: the model's output was not recorded: train with the optimizer's ModelFn"))
	}
	return v.(*Node)
}

// Attach makes loop refresh opt's preconditioners after every step where opt.Due says so,
// before the loop's other step hooks (priority −1), so a checkpoint taken at that step holds the
// fresh ones. The refresh time counts as training time.
func Attach(loop *train.Loop, opt Optimizer) {
	loop.OnStep("precond-refresh", -1, func(loop *train.Loop, _ []*tensors.Tensor) error {
		step := loop.LoopStep + 1 // the step just taken, counted from the store's global step
		if !opt.Due(step) {
			return nil
		}
		return opt.Refresh(loop.Trainer.Store(), step)
	})
}

// gradients returns the gradient of loss for each trainable variable g uses.
func gradients(scope *model.Scope, g *Graph, loss *Node) map[*model.Variable]*Node {
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	vars := trainvars.Used(scope, g)
	if len(vars) != len(grads) {
		panic(fmt.Errorf("precond: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	out := make(map[*model.Variable]*Node, len(vars))
	for i, v := range vars {
		out[v] = grads[i]
	}
	return out
}

// sortedVars returns the keys of grads ordered by path (so that sums over variables do not depend
// on the order a store created them in).
func sortedVars(grads map[*model.Variable]*Node) []*model.Variable {
	vars := make([]*model.Variable, 0, len(grads))
	for v := range grads {
		vars = append(vars, v)
	}
	sort.Slice(vars, func(a, b int) bool { return vars[a].Path() < vars[b].Path() })
	return vars
}

// stateVar finds or creates the non-trainable zero-initialised variable name [dims] in dtype
// under /scopeName/within.
func stateVar(store *model.Store, scopeName, within, name string, dtype dtypes.DType, dims ...int) *model.Variable {
	sc := store.Scope(path.Join("/", scopeName, within)).WithInitializer(initializer.Zero)
	return sc.VariableWithShape(name, shapes.Make(dtype, dims...)).SetTrainable(false)
}

// gramOver returns Σ_k x_k x_kᵀ contracted over each piece's positions axis: xs[k] has the
// positions on axis axis and d values on the other; the result is [d, d].
func gramOver(xs []*Node, axis int) *Node {
	var sum *Node
	for _, x := range xs {
		gm := DotGeneral(x, []int{axis}, nil, x, []int{axis}, nil)
		if sum == nil {
			sum = gm
		} else {
			sum = Add(sum, gm)
		}
	}
	return sum
}

// eye is the n×n identity in dtype.
func eye(g *Graph, dtype dtypes.DType, n int) *Node {
	return DiagonalWithValue(ScalarOne(g, dtype), n)
}
