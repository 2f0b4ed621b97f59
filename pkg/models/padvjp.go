package models

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
)

// GoMLX v0.28.2 has no gradient for Pad, and Slice's gradient is a Pad: without a VJP for Pad, a
// second derivative through any parameter-dependent Slice (im2col, pooling) fails. padVJP is
// that VJP; the package registers it in graph.VJPRegistration at init (unless GoMLX already has one).
var registerPadVJPOnce sync.Once

func init() { RegisterPadVJP() }

// RegisterPadVJP adds the gradient of Pad to GoMLX's graph.VJPRegistration, unless one is
// already registered. The package calls it at init; calling it again does nothing.
func RegisterPadVJP() {
	registerPadVJPOnce.Do(func() {
		if _, found := VJPRegistration[NodeTypePad]; !found {
			VJPRegistration[NodeTypePad] = padVJP
		}
	})
}

// padVJP is the vector-Jacobian product of y = Pad(x, fill, config) for non-negative padding:
// element i of x (per axis) lands at position start + i·(interior+1) of y, so ∂L/∂x is the
// strided Slice of v at those positions, and ∂L/∂fill is the sum of v elsewhere.
func padVJP(node *Node, vjpOutputs []*Node, _ shapes.Shape) []*Node {
	v := vjpOutputs[0]
	x, fill := node.Inputs()[0], node.Inputs()[1]
	rank := x.Rank()
	config := make([]PadAxis, rank)
	copy(config, padConfig(node))

	for axis, c := range config {
		if c.Start < 0 || c.End < 0 || c.Interior < 0 {
			// Slice's gradient never pads negatively, and the go backend cannot run such a Pad.
			panic(fmt.Sprintf("models: gradient of Pad with negative padding %+v on axis %d is not implemented", c, axis))
		}
	}
	specs := make([]SliceAxisSpec, rank)
	for axis := range rank {
		c := config[axis]
		n := x.Shape().Dimensions[axis]
		stride := c.Interior + 1
		specs[axis] = AxisRange(c.Start, c.Start+(n-1)*stride+1).Stride(stride)
	}
	dx := Slice(v, specs...)
	var dFill *Node
	if fill.Type() != NodeTypeConstant {
		dFill = Sub(ReduceAllSum(v), ReduceAllSum(dx))
	}
	return []*Node{dx, dFill}
}

// padConfig returns the per-axis configuration of a Pad node. GoMLX v0.28.2 keeps it in an
// unexported field (node.inputs.(*nodeInputsPad).axesConfig) with no accessor, so it is read
// with reflection (read-only); a change of that layout panics here, and TestPadVJP catches it.
func padConfig(node *Node) []PadAxis {
	fail := func(what string) {
		panic(fmt.Sprintf("models: cannot read the Pad configuration of %s: %s (GoMLX's Node layout changed?)", node, what))
	}
	inputs := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !inputs.IsValid() || inputs.Kind() != reflect.Interface || inputs.IsNil() {
		fail("no field inputs")
	}
	ni := inputs.Elem()
	if ni.Kind() == reflect.Pointer {
		ni = ni.Elem()
	}
	if ni.Kind() != reflect.Struct {
		fail("inputs is not a struct")
	}
	axes := ni.FieldByName("axesConfig")
	if !axes.IsValid() || axes.Kind() != reflect.Slice {
		fail("no slice field axesConfig")
	}
	config := make([]PadAxis, axes.Len())
	for i := range config {
		a := axes.Index(i)
		start, end, interior := a.FieldByName("Start"), a.FieldByName("End"), a.FieldByName("Interior")
		if !start.IsValid() || !end.IsValid() || !interior.IsValid() {
			fail("axesConfig elements lack Start/End/Interior")
		}
		config[i] = PadAxis{Start: int(start.Int()), End: int(end.Int()), Interior: int(interior.Int())}
	}
	return config
}
