package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
)

// lockstepTol bounds ‖x_H − x_G‖₂/max(‖x_G‖₂, ‖x_k‖₂) for one iteration x_{k+1} = x_k + α·p
// taken from the same state: relative to the larger of the iterates the step joins, the scale
// at which x_k + α·p is rounded (an iterate landing on a minimiser at the origin has ‖x_G‖ ≈ 0).
const lockstepTol = 1e-12

// lockstepConfig is one `qnlab minimize` run.
type lockstepConfig struct {
	fn      string
	dim     int
	seed    uint64 // -seed: 0 for the standard start
	gd      bool   // -method gd, else lbfgs with -m lbfgs.DefaultM
	ls      lbfgs.LineSearch
	maxIter int // -maxiter: 0 for minimize's default
}

func (c lockstepConfig) name() string {
	meth := "lbfgs"
	if c.gd {
		meth = "gd"
	}
	s := fmt.Sprintf("%s-n%d-%s-%s", c.fn, c.dim, meth, c.ls)
	if c.seed != 0 {
		s += fmt.Sprintf("-seed%d", c.seed)
	}
	if c.maxIter != 0 {
		s += fmt.Sprintf("-maxiter%d", c.maxIter)
	}
	return s
}

// settings are minimize's: -tol 1e-6 and -maxiter 10000 unless c says otherwise.
func (c lockstepConfig) settings() lbfgs.Settings {
	return lbfgs.Settings{GradTol: 1e-6, MaxIterations: cmp.Or(c.maxIter, 10000)}
}

// x0 is minimize's start: f.Start, perturbed as -seed does.
func (c lockstepConfig) x0(f *funcs.Func) []float64 {
	x0 := append([]float64(nil), f.Start...)
	perturb(x0, c.seed)
	return x0
}

// directions returns the graph-path and host-path directions of c's method.
func (c lockstepConfig) directions() (graph, host lbfgs.Direction) {
	if c.gd {
		return lbfgs.GradientDescent{}, lbfgs.GradientDescent{}
	}
	return &lbfgs.LBFGS{M: lbfgs.DefaultM, Path: backend.Graph}, &lbfgs.LBFGS{M: lbfgs.DefaultM, Path: backend.Host}
}

// lockstepConfigs are the configurations that minimize_test.go and memory_test.go run with
// exit 0, then every function of funcs.Names() at minimize's -dim default (2; the smallest
// dimension it has if not 2) from its standard start with L-BFGS + Wolfe, L-BFGS + Armijo and
// gradient descent + Wolfe.
func lockstepConfigs() []lockstepConfig {
	w, a := lbfgs.Wolfe{}, lbfgs.Armijo{}
	cs := []lockstepConfig{
		{fn: "rosenbrock", dim: 100, ls: w},                     // TestMinimizeRosenbrock100, TestMinimizePaths
		{fn: "rosenbrock", dim: 2, ls: w, maxIter: 3},           // TestMinimizeExitCodes
		{fn: "rosenbrock", dim: 2, gd: true, ls: a, maxIter: 5}, // TestMinimizeExitCodes
		{fn: "rastrigin", dim: 3, seed: 7, ls: w},               // TestMinimizeSeedIsReproducible
		{fn: "rastrigin", dim: 3, seed: 8, ls: w},               // TestMinimizeSeedIsReproducible
		{fn: "rosenbrock", dim: 1000, ls: w, maxIter: 3},        // TestMemoryRefusals/small
		{fn: "rosenbrock", dim: 2, ls: w},                       // TestMinimizeExitCodes (also below)
	}
	for _, name := range funcs.Names() {
		dim := 2
		if _, err := funcs.ByName(name, dim); err != nil {
			for dim = 1; dim <= 16; dim++ {
				if _, err := funcs.ByName(name, dim); err == nil {
					break
				}
			}
		}
		for _, c := range []lockstepConfig{{ls: w}, {ls: a}, {gd: true, ls: w}} {
			c.fn, c.dim = name, dim
			if !slices.ContainsFunc(cs, func(d lockstepConfig) bool { return d.name() == c.name() }) {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// lockstepDirection hands Minimize the graph path's direction and computes, at the same x and
// from the same history, the host path's f, ∇f and direction for lockstepSearch.
type lockstepDirection struct {
	t           *testing.T
	graph, host lbfgs.Direction
	hostEval    *funcs.Evaluator

	// Set by Next for the current iteration.
	x, g, pG  []float64 // Minimize's x_k, graph ∇f(x_k) and graph direction
	fH        float64   // host f(x_k)
	gH, pH    []float64 // host ∇f(x_k) and host direction
	resetNext bool      // Reset was called after Next: Minimize restarts along −g
}

func (d *lockstepDirection) Init(x, g []float64) error {
	if err := d.graph.Init(x, g); err != nil {
		return err
	}
	return d.host.Init(x, g)
}

func (d *lockstepDirection) Next(x, g []float64) ([]float64, error) {
	pG, err := d.graph.Next(x, g)
	if err != nil {
		return nil, err
	}
	gH := make([]float64, len(x))
	fH, err := d.hostEval.Eval(x, gH)
	if err != nil {
		return nil, err
	}
	pH, err := d.host.Next(x, gH)
	if err != nil {
		return nil, err
	}
	d.x, d.g, d.pG, d.fH, d.gH, d.pH, d.resetNext = x, g, pG, fH, gH, pH, false
	return pG, nil
}

func (d *lockstepDirection) Update(s, y []float64) bool {
	okG, okH := d.graph.Update(s, y), d.host.Update(s, y)
	if okG != okH {
		d.t.Errorf("the same pair: graph direction accepted it: %v, host direction: %v", okG, okH)
	}
	return okG
}

func (d *lockstepDirection) Reset() bool {
	hadG, hadH := d.graph.Reset(), d.host.Reset()
	if hadG != hadH {
		d.t.Errorf("Reset: graph direction had pairs: %v, host direction: %v", hadG, hadH)
	}
	d.resetNext = true
	return hadG
}

func (d *lockstepDirection) UnitStep() bool { return d.graph.UnitStep() }

// lockstepSearch runs the real line search for Minimize (the graph run), then the host path's
// iteration from the same state, and records how far apart the two next iterates are.
type lockstepSearch struct {
	t     *testing.T
	inner lbfgs.LineSearch
	dir   *lockstepDirection

	prevAlpha, prevSlope float64 // α and φ'(0) of the last accepted step, as Minimize keeps them

	compared, restarts, okDiffer, bad int
	worst                             float64 // largest relErr(x_H, x_G)
	worstAt                           int
	worstF                            float64 // largest |f_H − f_G|/max(1, |f_G|) at an iterate
	worstAlpha                        float64 // largest |α_H − α_G|/α_G, for information
}

func (ls *lockstepSearch) String() string { return ls.inner.String() }

// firstStep is Minimize's first trial step for gradient g and slope φ'(0).
func (ls *lockstepSearch) firstStep(unit bool, g []float64, slope float64) float64 {
	switch {
	case unit:
		return 1
	case ls.prevAlpha == 0:
		return 1 / math.Sqrt(lockstepDot(g, g))
	default:
		return ls.prevAlpha * ls.prevSlope / slope
	}
}

func (ls *lockstepSearch) Search(phi lbfgs.Phi, f0, df0, alpha0 float64) lbfgs.Step {
	stepG := ls.inner.Search(phi, f0, df0, alpha0)
	d, k := ls.dir, ls.compared
	ls.compared++

	// A restart (Minimize reset the direction because φ'(0) ≥ 0 and took p = −g) is compared
	// with p = −g on both sides; the host path restarts iff its own slope is not negative.
	pG, pH := d.pG, d.pH
	if d.resetNext {
		pG = lockstepScaled(-1, d.g)
		ls.restarts++
		ls.t.Logf("iteration %d: restart along −g", k)
	}
	slopeG, slopeH := lockstepDot(d.g, pG), lockstepDot(d.gH, pH)
	if restartH := !(slopeH < 0); restartH != d.resetNext {
		ls.t.Errorf("iteration %d: graph path restarted: %v, host path would: %v (host slope %g)", k, d.resetNext, restartH, slopeH)
	} else if restartH {
		pH = lockstepScaled(-1, d.gH)
		slopeH = lockstepDot(d.gH, pH)
	}
	// Check the model of Minimize on the graph side: its φ'(0) and first trial step.
	if slopeG != df0 {
		ls.t.Fatalf("iteration %d: Minimize's φ'(0) = %g, gᵀp_G = %g: p is not the graph direction", k, df0, slopeG)
	}
	if a := ls.firstStep(d.graph.UnitStep(), d.g, slopeG); a != alpha0 {
		ls.t.Fatalf("iteration %d: Minimize's α0 = %g, the model's %g", k, alpha0, a)
	}
	if d.host.UnitStep() != d.graph.UnitStep() {
		ls.t.Errorf("iteration %d: UnitStep: graph %v, host %v", k, d.graph.UnitStep(), d.host.UnitStep())
	}

	// The host path's iteration: its f, ∇f, direction, first trial step and φ.
	if e := math.Abs(d.fH-f0) / math.Max(1, math.Abs(f0)); e > ls.worstF || math.IsNaN(e) {
		ls.worstF = e
	}
	n := len(d.x)
	var evalErr error
	phiH := func(alpha float64) (float64, float64) {
		xt, gt := make([]float64, n), make([]float64, n)
		for i := range xt {
			xt[i] = d.x[i] + alpha*pH[i]
		}
		ft, err := d.hostEval.Eval(xt, gt)
		if err != nil {
			evalErr = err
			return math.NaN(), math.NaN()
		}
		return ft, lockstepDot(gt, pH)
	}
	stepH := ls.inner.Search(phiH, d.fH, slopeH, ls.firstStep(d.host.UnitStep(), d.gH, slopeH))
	if evalErr != nil {
		ls.t.Fatalf("iteration %d: host objective: %v", k, evalErr)
	}

	xG, xH := make([]float64, n), make([]float64, n)
	for i := range n {
		xG[i] = d.x[i] + stepG.Alpha*pG[i]
		xH[i] = d.x[i] + stepH.Alpha*pH[i]
	}
	rel := lockstepRelErr(xH, xG, d.x)
	if rel > ls.worst || math.IsNaN(rel) {
		ls.worst, ls.worstAt = rel, k
	}
	if e := math.Abs(stepH.Alpha-stepG.Alpha) / stepG.Alpha; e > ls.worstAlpha {
		ls.worstAlpha = e
	}
	if stepG.OK != stepH.OK {
		ls.okDiffer++
	}
	if !(rel <= lockstepTol) || stepG.OK != stepH.OK {
		ls.bad++
		if ls.bad <= 3 {
			ls.t.Errorf("iteration %d: relErr(x_H, x_G) = %.3g (tol %g); α_G = %.17g OK %v, α_H = %.17g OK %v; evals G %d H %d",
				k, rel, lockstepTol, stepG.Alpha, stepG.OK, stepH.Alpha, stepH.OK, stepG.Evals, stepH.Evals)
		}
	}

	if stepG.OK || stepG.F < f0 { // Minimize takes the step
		ls.prevAlpha, ls.prevSlope = stepG.Alpha, df0
	}
	return stepG
}

// TestMinimizePathsStepByStep proves that the host path (funcs.Func.Host's hand gradients and
// lbfgs.HostDirection) computes the same iteration as the graph path: at every iteration of
// the graph path's run of each minimize configuration, one iteration on the host path from the
// same state (x_k, the same history, the same α_{k-1} and φ'_{k-1}(0)) reaches the graph path's
// next iterate to 1e-12 relative (lockstepTol), with the same line-search verdict. Whole runs are not compared
// bit for bit: the paths sum in different orders, and their last-bit (1e-16) differences are
// amplified by the line search's decisions until the runs part after tens of iterations, as
// between any two backends. The whole runs' parting is logged for information.
func TestMinimizePathsStepByStep(t *testing.T) {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	type pair struct{ graph, host *funcs.Evaluator }
	evals := map[string]pair{} // by function and dimension: compiling costs more than a run
	evaluators := func(t *testing.T, name string, dim int) (*funcs.Func, pair) {
		f, err := funcs.ByName(name, dim)
		if err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(name, dim)
		if e, ok := evals[key]; ok {
			return f, e
		}
		var e pair
		for _, ev := range []struct {
			p   backend.Path
			dst **funcs.Evaluator
		}{{backend.Graph, &e.graph}, {backend.Host, &e.host}} {
			if *ev.dst, err = f.Evaluator(b); err != nil {
				t.Fatal(err)
			}
			if err := (*ev.dst).SetPath(ev.p); err != nil {
				t.Fatal(err)
			}
		}
		evals[key] = e
		return f, e
	}

	for _, c := range lockstepConfigs() {
		t.Run(c.name(), func(t *testing.T) {
			f, e := evaluators(t, c.fn, c.dim)
			if e.graph.RunsOn() != backend.Graph || e.host.RunsOn() != backend.Host {
				t.Fatalf("evaluators run on %v and %v, want graph and host", e.graph.RunsOn(), e.host.RunsOn())
			}
			x0 := c.x0(f)
			s := c.settings()
			s.RecordX = true

			graphDir, hostDir := c.directions()
			dir := &lockstepDirection{t: t, graph: graphDir, host: hostDir, hostEval: e.host}
			search := &lockstepSearch{t: t, inner: c.ls, dir: dir}
			res, err := lbfgs.Minimize(e.graph, x0, lbfgs.Method{Direction: dir, LineSearch: search}, s)
			if err != nil {
				t.Fatal(err)
			}
			if res.ObjectiveRunsOn != backend.Graph {
				t.Errorf("the run's objective ran on %v, want graph", res.ObjectiveRunsOn)
			}
			type runsOn interface{ RunsOn() backend.Path }
			if g, ok := graphDir.(runsOn); ok {
				if h := hostDir.(runsOn); g.RunsOn() != backend.Graph || h.RunsOn() != backend.Host {
					t.Errorf("directions ran on %v and %v, want graph and host", g.RunsOn(), h.RunsOn())
				}
			}
			if search.compared == 0 {
				t.Error("no iteration compared")
			}
			if !(search.worstF <= 1e-13) {
				t.Errorf("|f_H − f_G| = %.3g·max(1, |f_G|) at an iterate, want ≤ 1e-13", search.worstF)
			}
			if search.bad > 0 {
				t.Errorf("%d of %d iterations apart by more than %g or with differing line-search verdicts (%d)",
					search.bad, search.compared, lockstepTol, search.okDiffer)
			}

			// For information: plain whole runs on each path. The graph one must be the run above.
			plain := func(ev *funcs.Evaluator, dir lbfgs.Direction) lbfgs.Result {
				r, err := lbfgs.Minimize(ev, c.x0(f), lbfgs.Method{Direction: dir, LineSearch: c.ls}, s)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			g, h := c.directions()
			rg, rh := plain(e.graph, g), plain(e.host, h)
			if rg.Iterations != res.Iterations || rg.Evaluations != res.Evaluations || rg.Status != res.Status ||
				!slices.EqualFunc(rg.Iterates, res.Iterates, func(a, b lbfgs.Iteration) bool { return slices.Equal(a.X, b.X) }) {
				t.Errorf("the wrapped graph run differs from a plain one: %d iterations, %d evaluations, %v; plain %d, %d, %v",
					res.Iterations, res.Evaluations, res.Status, rg.Iterations, rg.Evaluations, rg.Status)
			}
			parts := "never"
			for k := range min(len(rg.Iterates), len(rh.Iterates)) {
				if rel := lockstepRelErr(rh.Iterates[k].X, rg.Iterates[k].X, x0); !(rel <= lockstepTol) {
					parts = fmt.Sprintf("at iteration %d (relErr %.3g)", k, rel)
					break
				}
			}
			t.Logf("%d iterations compared, worst relErr %.3g (iteration %d), OK flags differ %d×, %d restarts, worst |Δf| %.3g, worst |Δα|/α %.3g",
				search.compared, search.worst, search.worstAt, search.okDiffer, search.restarts, search.worstF, search.worstAlpha)
			t.Logf("whole runs: graph %d iterations, %d evaluations (%v); host %d, %d (%v); iterates part %s",
				rg.Iterations, rg.Evaluations, rg.Status, rh.Iterations, rh.Evaluations, rh.Status, parts)
		})
	}
}

// lockstepDot is aᵀb summed in index order, as lbfgs's dot.
func lockstepDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func lockstepScaled(a float64, v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = a * x
	}
	return out
}

// lockstepRelErr is ‖a − b‖₂/max(‖b‖₂, ‖ref‖₂).
func lockstepRelErr(a, b, ref []float64) float64 {
	var num float64
	for i := range b {
		num += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(num / math.Max(lockstepDot(b, b), lockstepDot(ref, ref)))
}
