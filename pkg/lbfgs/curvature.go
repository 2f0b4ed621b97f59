package lbfgs

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
)

// Curvature is the test a pair (s, y) must pass to enter a history: yᵀs > Eps (absolute) or
// yᵀs > Eps·‖s‖‖y‖ (Relative: the cosine of the angle between s and y above Eps). A pair that
// fails has no positive curvature along s, and storing it would make H_k indefinite or
// singular (Nocedal & Wright 2006, eq. 6.7 and §7.2). History (host) and the training optimizer
// (graph) apply the same test.
type Curvature struct {
	Eps      float64
	Relative bool
}

// DefaultCurvature is the test History and Minimize use: relative, ε = 1e-8 (DefaultEps).
var DefaultCurvature = Curvature{Eps: DefaultEps, Relative: true}

// SeedCurvature is the seed paper's test (its lbfgs.py): yᵀs > 1e-10, absolute. Optimizer
// starts from it, to reproduce the paper.
var SeedCurvature = Curvature{Eps: 1e-10}

func (c Curvature) String() string {
	if c.Relative {
		return fmt.Sprintf("yᵀs > %g·‖s‖‖y‖", c.Eps)
	}
	return fmt.Sprintf("yᵀs > %g", c.Eps)
}

func (c Curvature) check() error {
	if !(c.Eps >= 0) || math.IsInf(c.Eps, 0) {
		return fmt.Errorf("lbfgs: curvature threshold %g must be finite and ≥ 0", c.Eps)
	}
	return nil
}

// threshold is the bound yᵀs must exceed, from ‖s‖ and ‖y‖ (host).
func (c Curvature) threshold(ns, ny float64) float64 {
	if c.Relative {
		return c.Eps * ns * ny
	}
	return c.Eps
}

// accepts is the test in the graph, from ys = yᵀs, ss = sᵀs and yy = yᵀy (scalars): the
// threshold ε·√(sᵀs·yᵀy) equals the host's ε·‖s‖‖y‖.
func (c Curvature) accepts(ys, ss, yy *Node) *Node {
	threshold := Const(ys.Graph(), shapes.CastAsDType(c.Eps, ys.DType()))
	if c.Relative {
		threshold = Mul(threshold, Sqrt(Mul(ss, yy)))
	}
	return GreaterThan(ys, threshold)
}
