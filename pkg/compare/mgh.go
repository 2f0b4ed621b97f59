package compare

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/optimize"

	"qnlab/pkg/backend"
	"qnlab/pkg/directions"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
)

// Run is one optimiser's run on one problem.
type Run struct {
	Evals      int // objective evaluations (f and ∇f together)
	Iterations int
	GradNorm   float64 // ‖∇f‖∞ at the end
	Status     string
	Solved     bool          // reached ‖∇f‖∞ ≤ the tolerance
	Time       time.Duration // median wall time over the repeats
}

// MGHRow compares a qnlab method with gonum's on one MGH problem.
type MGHRow struct {
	Problem      string // "Name/Dim"
	QNLab, Gonum Run
}

// MGHSettings configure MGH. The zero value uses the settings.
type MGHSettings struct {
	// Method is the pair compared: "lbfgs" (the default), "bfgs", "cg-fr", "cg-pr" or "cg-hs" —
	// qnlab's lbfgs.LBFGS or directions.BFGS/CG against gonum's optimize.LBFGS, BFGS or CG with
	// the FletcherReeves, PolakRibierePolyak or HestenesStiefel variant. CG uses strong Wolfe
	// with c2 = 0.1 on both sides (gonum's CG default) and gonum's restart every n iterations.
	Method string
	// M is the history size of both. If M is 0, it will be defaulted to 10.
	M int
	// GradTol is the stopping test ‖∇f‖∞ ≤ GradTol of both. If 0, it will be defaulted to 1e-6.
	GradTol float64
	// MaxIterations bounds both. If 0, it will be defaulted to 10000.
	MaxIterations int
	// Repeats is how often each run is timed (the median is reported). If 0, it will be 3.
	Repeats int
	// Path is where qnlab's L-BFGS directions run (lbfgs.LBFGS.Path; gonum's functions always
	// run on the host). The zero value is backend.Auto.
	Path backend.Path
}

// MGH runs qnlab's method (strong Wolfe line search) and gonum's (its default More–Thuente line
// search, also c1 = 1e-4; c2 = 0.9, or 0.1 for CG) with the same history size and the same
// stopping test on every problem of funcs.MGH(), in one process, one problem after the other,
// the two alternating within each problem's repeats.
// gonum's own convergence test on f is switched off so both stop on ‖∇f‖∞ alone.
func MGH(s MGHSettings) ([]MGHRow, error) {
	if s.Method == "" {
		s.Method = "lbfgs"
	}
	if _, _, err := s.methods(1); err != nil {
		return nil, err
	}
	if s.M == 0 {
		s.M = 10
	}
	if s.GradTol == 0 {
		s.GradTol = 1e-6
	}
	if s.MaxIterations == 0 {
		s.MaxIterations = 10000
	}
	if s.Repeats == 0 {
		s.Repeats = 3
	}
	var rows []MGHRow
	for _, p := range funcs.MGH() {
		row := MGHRow{Problem: p.String()}
		var err error
		row.QNLab, row.Gonum, err = timedPair(s.Repeats,
			func() (Run, error) { return runQNLab(p, s) }, func() (Run, error) { return runGonum(p, s) })
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", p, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// timedPair runs a and b repeats times each, alternating (a first in even rounds, b first in
// odd ones, so neither always runs on a warmer machine); it returns each one's first run with
// its median wall time.
func timedPair(repeats int, a, b func() (Run, error)) (Run, Run, error) {
	var runs [2]Run
	var ts [2][]time.Duration
	fs := [2]func() (Run, error){a, b}
	for i := range repeats {
		for j := range 2 {
			k := j
			if i%2 == 1 {
				k = 1 - j
			}
			t0 := time.Now()
			r, err := fs[k]()
			ts[k] = append(ts[k], time.Since(t0))
			if err != nil {
				return Run{}, Run{}, err
			}
			if i == 0 {
				runs[k] = r
			}
		}
	}
	for k := range 2 {
		slices.Sort(ts[k])
		runs[k].Time = ts[k][repeats/2]
	}
	return runs[0], runs[1], nil
}

// methods returns the qnlab and gonum sides of s.Method for dimension n.
func (s MGHSettings) methods(n int) (lbfgs.Method, optimize.Method, error) {
	wolfe := lbfgs.Wolfe{}
	switch s.Method {
	case "", "lbfgs":
		return lbfgs.Method{Direction: &lbfgs.LBFGS{M: s.M, Path: s.Path}, LineSearch: wolfe}, &optimize.LBFGS{Store: s.M}, nil
	case "bfgs":
		return lbfgs.Method{Direction: &directions.BFGS{}, LineSearch: wolfe}, &optimize.BFGS{}, nil
	}
	cg := lbfgs.Method{LineSearch: lbfgs.Wolfe{C2: 0.1}}
	switch s.Method {
	case "cg-fr":
		cg.Direction = &directions.CG{Beta: directions.FletcherReeves, Restart: n}
		return cg, &optimize.CG{Variant: &optimize.FletcherReeves{}}, nil
	case "cg-pr":
		cg.Direction = &directions.CG{Beta: directions.PolakRibiere, Restart: n}
		return cg, &optimize.CG{Variant: &optimize.PolakRibierePolyak{}}, nil
	case "cg-hs":
		cg.Direction = &directions.CG{Beta: directions.HestenesStiefel, Restart: n}
		return cg, &optimize.CG{Variant: &optimize.HestenesStiefel{}}, nil
	}
	return lbfgs.Method{}, nil, fmt.Errorf("compare: unknown method %q (want lbfgs, bfgs, cg-fr, cg-pr or cg-hs)", s.Method)
}

func runQNLab(p *funcs.Problem, s MGHSettings) (Run, error) {
	m, _, err := s.methods(p.Dim)
	if err != nil {
		return Run{}, err
	}
	res, err := lbfgs.Minimize(p, p.X0, m, lbfgs.Settings{GradTol: s.GradTol, MaxIterations: s.MaxIterations})
	if err != nil {
		return Run{}, err
	}
	return Run{
		Evals: res.Evaluations, Iterations: res.Iterations, GradNorm: res.GradNorm,
		Status: res.Status.String(), Solved: res.GradNorm <= s.GradTol,
	}, nil
}

func runGonum(p *funcs.Problem, s MGHSettings) (Run, error) {
	_, method, err := s.methods(p.Dim)
	if err != nil {
		return Run{}, err
	}
	prob := optimize.Problem{Func: p.F.Func, Grad: func(grad, x []float64) { p.F.Grad(grad, x) }}
	res, err := optimize.Minimize(prob, p.X0, &optimize.Settings{
		GradientThreshold: s.GradTol,
		Converger:         optimize.NeverTerminate{},
		MajorIterations:   s.MaxIterations,
		// gonum's CG line search can evaluate forever without a major iteration (seen on MGH
		// with FletcherReeves): bound the evaluations as qnlab's Wolfe search bounds its own.
		FuncEvaluations: 50 * s.MaxIterations,
	}, method)
	if res == nil {
		return Run{}, fmt.Errorf("gonum: %w", err)
	}
	// gonum evaluates f and ∇f together along its line search; count the larger of the two.
	r := Run{
		Evals: max(res.Stats.FuncEvaluations, res.Stats.GradEvaluations), Iterations: res.Stats.MajorIterations,
		GradNorm: normInf(res.Gradient), Status: res.Status.String(),
	}
	if err != nil {
		r.Status += ": " + err.Error()
	}
	r.Solved = r.GradNorm <= s.GradTol
	return r, nil
}

func normInf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// MGHSummary counts, over the problems both solve, those where qnlab needs no more
// evaluations than gonum.
func MGHSummary(rows []MGHRow) (bothSolved, qnlabNoMore int) {
	for _, r := range rows {
		if r.QNLab.Solved && r.Gonum.Solved {
			bothSolved++
			if r.QNLab.Evals <= r.Gonum.Evals {
				qnlabNoMore++
			}
		}
	}
	return bothSolved, qnlabNoMore
}

// WriteMGHTable prints rows as an aligned table with a summary line.
func WriteMGHTable(w io.Writer, rows []MGHRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "problem\tqnlab evals\tgonum evals\tqnlab ‖g‖∞\tgonum ‖g‖∞\tqnlab time\tgonum time\ttime ratio\tqnlab status\tgonum status\t")
	var totalQ, totalG time.Duration
	for _, r := range rows {
		mark := func(run Run) string {
			if run.Solved {
				return fmt.Sprint(run.Evals)
			}
			return fmt.Sprintf("(%d)", run.Evals)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1e\t%.1e\t%v\t%v\t%.1f\t%s\t%s\t\n", r.Problem, mark(r.QNLab), mark(r.Gonum),
			r.QNLab.GradNorm, r.Gonum.GradNorm, r.QNLab.Time.Round(time.Microsecond), r.Gonum.Time.Round(time.Microsecond),
			r.QNLab.Time.Seconds()/r.Gonum.Time.Seconds(), r.QNLab.Status, r.Gonum.Status)
		totalQ += r.QNLab.Time
		totalG += r.Gonum.Time
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	both, noMore := MGHSummary(rows)
	_, err := fmt.Fprintf(w, "(n): not solved to the tolerance. Both solve %d of %d problems; qnlab needs no more evaluations than gonum on %d of them (%.0f%%). Total time qnlab %v, gonum %v (ratio %.1f).\n",
		both, len(rows), noMore, 100*float64(noMore)/math.Max(1, float64(both)), totalQ.Round(time.Millisecond), totalG.Round(time.Millisecond), totalQ.Seconds()/totalG.Seconds())
	return err
}
