package compare

import (
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/optimize"

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

// MGHRow compares qnlab's L-BFGS with gonum's on one MGH problem.
type MGHRow struct {
	Problem      string // "Name/Dim"
	QNLab, Gonum Run
}

// MGHSettings configure MGH. The zero value uses the settings.
type MGHSettings struct {
	// M is the history size of both. If M is 0, it will be defaulted to 10.
	M int
	// GradTol is the stopping test ‖∇f‖∞ ≤ GradTol of both. If 0, it will be defaulted to 1e-6.
	GradTol float64
	// MaxIterations bounds both. If 0, it will be defaulted to 10000.
	MaxIterations int
	// Repeats is how often each run is timed (the median is reported). If 0, it will be 3.
	Repeats int
}

// MGH runs qnlab's L-BFGS (strong Wolfe line search) and gonum's optimize.LBFGS (its
// default More–Thuente line search, also c1 = 1e-4, c2 = 0.9) with the same history size and
// the same stopping test on every problem of funcs.MGH(), in one process, one problem after the
// other. gonum's own convergence test on f is switched off so both stop on ‖∇f‖∞ alone.
func MGH(s MGHSettings) ([]MGHRow, error) {
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
		if row.QNLab, err = timed(s.Repeats, func() (Run, error) { return runQNLab(p, s) }); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", p, err)
		}
		if row.Gonum, err = timed(s.Repeats, func() (Run, error) { return runGonum(p, s) }); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", p, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// timed runs f repeats times; it returns the first run with the median wall time.
func timed(repeats int, f func() (Run, error)) (Run, error) {
	var first Run
	ts := make([]time.Duration, repeats)
	for i := range ts {
		t0 := time.Now()
		r, err := f()
		ts[i] = time.Since(t0)
		if err != nil {
			return Run{}, err
		}
		if i == 0 {
			first = r
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	first.Time = ts[repeats/2]
	return first, nil
}

func runQNLab(p *funcs.Problem, s MGHSettings) (Run, error) {
	res, err := lbfgs.Minimize(p, p.X0, lbfgs.Method{Direction: &lbfgs.LBFGS{M: s.M}, LineSearch: lbfgs.Wolfe{}},
		lbfgs.Settings{GradTol: s.GradTol, MaxIterations: s.MaxIterations})
	if err != nil {
		return Run{}, err
	}
	return Run{
		Evals: res.Evaluations, Iterations: res.Iterations, GradNorm: res.GradNorm,
		Status: res.Status.String(), Solved: res.GradNorm <= s.GradTol,
	}, nil
}

func runGonum(p *funcs.Problem, s MGHSettings) (Run, error) {
	prob := optimize.Problem{Func: p.F.Func, Grad: func(grad, x []float64) { p.F.Grad(grad, x) }}
	res, err := optimize.Minimize(prob, p.X0, &optimize.Settings{
		GradientThreshold: s.GradTol,
		Converger:         optimize.NeverTerminate{},
		MajorIterations:   s.MaxIterations,
	}, &optimize.LBFGS{Store: s.M})
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
