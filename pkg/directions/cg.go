package directions

import (
	"fmt"

	"qnlab/internal/enum"
)

// Beta is the formula of the conjugate-gradient parameter β_k.
type Beta int

// The β formulas (Nocedal & Wright 2006 §5.2: eqs. 5.41a, 5.44, 5.45 and 5.46).
const (
	// FletcherReeves: β = g_kᵀg_k / g_{k−1}ᵀg_{k−1}.
	FletcherReeves Beta = iota + 1
	// PolakRibiere: β = max(0, g_kᵀ(g_k − g_{k−1}) / g_{k−1}ᵀg_{k−1}) (PR+).
	PolakRibiere
	// HestenesStiefel: β = g_kᵀy / p_{k−1}ᵀy with y = g_k − g_{k−1}.
	HestenesStiefel
)

var betaNames = enum.Names[Beta]{FletcherReeves: "fr", PolakRibiere: "pr", HestenesStiefel: "hs"}

// String returns "fr", "pr" or "hs".
func (b Beta) String() string { return betaNames.String(b, "Beta") }

// ParseBeta returns the formula called name.
func ParseBeta(name string) (Beta, error) { return betaNames.Parse("directions", "β formula", name) }

// CG is nonlinear conjugate gradients, p_k = −g_k + β_k·p_{k−1} (the lecture's Algorithm 8.9;
// Nocedal & Wright 2006 Alg. 5.4), restarted with p = −g every Restart iterations (the
// lecture's "reset β to zero when t is a multiple of k"). With an exact line search on a
// quadratic (lbfgs.Exact) every β gives the linear CG iterates, which end at the minimiser in at
// most n steps; otherwise use the strong Wolfe search (Fletcher–Reeves needs c2 < 1/2 to
// guarantee descent, N&W Lemma 5.6).
type CG struct {
	Beta Beta
	// Restart is the restart period. If 0, the dimension n.
	Restart int

	gPrev, pPrev []float64
	k            int  // iterations since the last restart
	conjugate    bool // the last direction used β·p_{k−1} (curvature information Reset forgets)
}

// Init implements lbfgs.Direction.
func (c *CG) Init(x, g []float64) error {
	if !betaNames.Valid(c.Beta) {
		return fmt.Errorf("directions: unknown β formula %v (want %s)", c.Beta, betaNames.List())
	}
	if c.Restart < 0 {
		return fmt.Errorf("directions: restart period %d must be ≥ 0", c.Restart)
	}
	c.gPrev, c.pPrev, c.k, c.conjugate = nil, nil, 0, false
	return nil
}

// Next implements lbfgs.Direction.
func (c *CG) Next(x, g []float64) ([]float64, error) {
	period := c.Restart
	if period == 0 {
		period = len(g)
	}
	p := neg(g)
	c.conjugate = false
	if c.pPrev != nil && c.k%period != 0 {
		c.conjugate = true
		var beta float64
		gg, gPrevSq := dot(g, g), dot(c.gPrev, c.gPrev)
		switch c.Beta {
		case FletcherReeves:
			beta = gg / gPrevSq
		case PolakRibiere:
			beta = max(0, (gg-dot(g, c.gPrev))/gPrevSq)
		case HestenesStiefel:
			y := make([]float64, len(g))
			for i := range g {
				y[i] = g[i] - c.gPrev[i]
			}
			beta = dot(g, y) / dot(c.pPrev, y)
		}
		for i := range p {
			p[i] += beta * c.pPrev[i]
		}
	}
	c.gPrev, c.pPrev = append([]float64(nil), g...), p
	c.k++
	return p, nil
}

// Update implements lbfgs.Direction: CG keeps the previous gradient and direction (in Next).
func (c *CG) Update(s, y []float64) bool { return true }

// Reset implements lbfgs.Direction: the next direction is −g. It reports whether the last
// direction was conjugate (not −g already), so that Minimize retries at most once.
func (c *CG) Reset() bool {
	had := c.conjugate
	c.gPrev, c.pPrev, c.k, c.conjugate = nil, nil, 0, false
	return had
}

// UnitStep implements lbfgs.Direction: a CG direction has no natural length.
func (c *CG) UnitStep() bool { return false }

func (c *CG) String() string { return "CG-" + c.Beta.String() }

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
