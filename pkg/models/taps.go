package models

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// Layer is one linear map of a model, s = W·a, as the Kronecker-factored optimizers (pkg/precond)
// see it: W = [weights | biases] is a matrix [Out, In+1] (a convolution's weights reshaped to
// [Cout, 9·Cin] in the patches' (dy, dx, c) order, the bias as the last column); a are the layer's
// inputs with a last entry 1 and s its pre-activations, at every example and, for a convolution,
// every output position.
type Layer struct {
	// Weights ([Out, In] or [Cout, 3, 3, Cin]) and Biases ([Out]) are the layer's variables.
	Weights, Biases *model.Variable
	// Inputs and Outputs are a and s in pieces (a convolution's four parity classes, see
	// ConvPool): Inputs[k] has the positions on axis InputAxis and In (In+1 with AppendOne
	// false) values on the other; Outputs[k] has the same positions on axis OutputAxis and Out
	// values on the other.
	Inputs, Outputs       []*Node
	InputAxis, OutputAxis int
	// AppendOne is true if Inputs lack the last entry 1 (a dense layer's x); a convolution's
	// patches carry it.
	AppendOne bool
	// Examples is the batch size B; Positions the output positions per example (1 for a dense
	// layer, H·W for a convolution: |T| of Grosse & Martens 2016).
	Examples, Positions int
}

// graphParamLayers is the root-scope graph parameter holding a graph's recorded layers.
const graphParamLayers = "qnlab_layers"

// RecordLayers makes the models' layers built next in g (SimpleCNN's, MLP's, Dense) record
// themselves, for Layers. Graphs that do not ask record nothing.
func RecordLayers(scope *model.Scope, g *Graph) {
	if _, ok := scope.Store().RootScope().GetGraphParam(g, graphParamLayers); !ok {
		scope.Store().RootScope().SetGraphParam(g, graphParamLayers, &[]Layer{})
	}
}

// Layers returns the layers recorded in g since RecordLayers, in the order the model built them
// (nil if g records none).
func Layers(scope *model.Scope, g *Graph) []Layer {
	v, ok := scope.Store().RootScope().GetGraphParam(g, graphParamLayers)
	if !ok {
		return nil
	}
	return *v.(*[]Layer)
}

// recordLayer appends l to g's layers, if g records them.
func recordLayer(scope *model.Scope, g *Graph, l Layer) {
	if v, ok := scope.Store().RootScope().GetGraphParam(g, graphParamLayers); ok {
		list := v.(*[]Layer)
		*list = append(*list, l)
	}
}
