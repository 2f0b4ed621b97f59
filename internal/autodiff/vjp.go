// Package autodiff adjusts GoMLX's reverse-mode differentiation for qnlab, at init: a gradient
// for Pad (so that second derivatives — Hessian-vector products — pass through Slice, whose
// gradient is a Pad) and DotGeneral's gradient without identity transposes. Every package that
// differentiates twice or trains imports it (funcs, models).
package autodiff

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
)

// This file adjusts GoMLX's reverse-mode differentiation (graph.VJPRegistration, GoMLX's own hook
// for "implementing a new op, or for experimentation") in two ways, registered at init:
//
//   - Pad gets a gradient. GoMLX v0.28.2 has none, and Slice's gradient is a Pad: without it, a
//     second derivative (a Hessian-vector product) through any parameter-dependent Slice (im2col,
//     pooling) fails.
//   - DotGeneral's gradient drops the identity Transpose GoMLX puts after each operand's gradient
//     ("transpose back to the operand's axes", even when they already are): the pure-Go backend
//     executes such a Transpose as an element-by-element copy (3.6M elements per SimpleCNN step for
//     conv2's patches alone). The values are unchanged.
var registerVJPsOnce sync.Once

func init() { Register() }

// Register installs the package's changes to GoMLX's graph.VJPRegistration: a gradient for Pad
// (unless GoMLX already has one) and DotGeneral's gradient without identity transposes. The
// package calls it at init; calling it again does nothing.
func Register() {
	registerVJPsOnce.Do(func() {
		if _, found := VJPRegistration[NodeTypePad]; !found {
			VJPRegistration[NodeTypePad] = padVJP
		}
		if dotVJP, found := VJPRegistration[NodeTypeDotGeneral]; found {
			VJPRegistration[NodeTypeDotGeneral] = func(node *Node, v []*Node, outputShape shapes.Shape) []*Node {
				grads := dotVJP(node, v, outputShape)
				for i, grad := range grads {
					grads[i] = SkipIdentityTranspose(grad)
				}
				return grads
			}
		}
	})
}

// SkipIdentityTranspose returns x's input if x is a Transpose that keeps every axis in place,
// else x.
func SkipIdentityTranspose(x *Node) *Node {
	if x == nil || x.Type() != NodeTypeTranspose {
		return x
	}
	perm := nodeParam(x, "permutation")
	if perm.Kind() != reflect.Slice {
		panic(fmt.Errorf("autodiff: cannot read the permutation of %s (GoMLX's Node layout changed?)", x))
	}
	for i := range perm.Len() {
		if perm.Index(i).Int() != int64(i) {
			return x
		}
	}
	return x.Inputs()[0]
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
			panic(fmt.Errorf("autodiff: gradient of Pad with negative padding %+v on axis %d is not implemented", c, axis))
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

// padConfig returns the per-axis configuration of a Pad node (see nodeParam).
func padConfig(node *Node) []PadAxis {
	axes := nodeParam(node, "axesConfig")
	if axes.Kind() != reflect.Slice {
		panic(fmt.Errorf("autodiff: cannot read the Pad configuration of %s (GoMLX's Node layout changed?)", node))
	}
	config := make([]PadAxis, axes.Len())
	for i := range config {
		a := axes.Index(i)
		start, end, interior := a.FieldByName("Start"), a.FieldByName("End"), a.FieldByName("Interior")
		if !start.IsValid() || !end.IsValid() || !interior.IsValid() {
			panic(fmt.Errorf("autodiff: the Pad configuration of %s lacks Start/End/Interior (GoMLX changed?)", node))
		}
		config[i] = PadAxis{Start: int(start.Int()), End: int(end.Int()), Interior: int(interior.Int())}
	}
	return config
}

// nodeParam returns the static parameter field of a node (e.g. a Pad's "axesConfig", a
// Transpose's "permutation"), or the zero reflect.Value if there is none. GoMLX v0.28.2 keeps
// these in an unexported field (node.inputs.(*nodeInputs<Op>)) with no accessor, so they are read
// with reflection, read-only; the tests of this package catch a change of that layout.
func nodeParam(node *Node, field string) reflect.Value {
	inputs := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !inputs.IsValid() || inputs.Kind() != reflect.Interface || inputs.IsNil() {
		return reflect.Value{}
	}
	ni := inputs.Elem()
	if ni.Kind() == reflect.Pointer {
		ni = ni.Elem()
	}
	if ni.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return ni.FieldByName(field)
}
