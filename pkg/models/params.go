package models

import (
	"errors"
	"fmt"
	"sort"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Parameters builds modelFn once (on one blank image, with a fresh store) and returns its
// trainable variables as "path shape" lines in path order, and their total number of values.
func Parameters(b compute.Backend, modelFn ModelFn) (vars []string, total int, err error) {
	store := NewStore(0)
	exec, err := model.NewExec(b, store, func(scope *model.Scope, images *Node) *Node { return modelFn(scope, images) })
	if err != nil {
		return nil, 0, fmt.Errorf("models: Parameters: %w", err)
	}
	defer exec.Finalize()
	images := tensors.FromShape(shapes.Make(dtypes.Float32, 1, ImageRows, ImageCols, 1))
	defer images.MustFinalizeAll()
	var outs []*tensors.Tensor
	if err := errors.Join(exceptions.TryCatch[error](func() { outs, err = exec.Call(images) }), err); err != nil {
		return nil, 0, fmt.Errorf("models: Parameters: %w", err)
	}
	for _, t := range outs {
		t.MustFinalizeAll()
	}
	for v := range store.IterVariables() {
		if v.Trainable {
			vars = append(vars, fmt.Sprintf("%s %s", v.Path(), v.Shape()))
			total += v.Shape().Size()
		}
	}
	sort.Strings(vars)
	return vars, total, nil
}
