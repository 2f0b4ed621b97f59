package runs

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/models"
)

// Experiment is one named training run of a comparison (one line of a figure).
type Experiment struct {
	Name string // label in tables and legends, e.g. "L-BFGS-10"
	Spec Spec
}

// Outcome is what one Experiment produced. A run that stops early (a non-finite training loss)
// is an Outcome with Err set and the rows recorded until then, not a failure of the comparison.
type Outcome struct {
	Experiment
	// Result holds the configuration with defaults and the rows (also those recorded before an
	// error); nil only if the run could not start (bad configuration).
	Result *Result
	// Err is why the run stopped early, or nil.
	Err error
	// Steps is the number of optimizer steps taken (with Err: up to the failing one).
	Steps int
	// Wall is the wall-clock of the whole run: compilation and evaluations included.
	Wall time.Duration
	// SkippedPairs and NonFiniteSteps are L-BFGS's counters at the end (pairs rejected by the
	// curvature test yᵀs > 1e-10, steps not taken because the direction was not finite); 0 for
	// SGD and Adam.
	SkippedPairs, NonFiniteSteps int
}

// Failed reports whether the run stopped early.
func (o Outcome) Failed() bool { return o.Err != nil }

// Final returns the last recorded row; ok is false if there is none.
func (o Outcome) Final() (r Row, ok bool) {
	if o.Result == nil || len(o.Result.Rows) == 0 {
		return Row{}, false
	}
	return o.Result.Final(), true
}

// Last returns the last recorded row, or the zero Row if there is none.
func (o Outcome) Last() Row {
	r, _ := o.Final()
	return r
}

// RunExperiments trains each experiment in turn on backend b and returns their outcomes in the
// same order. A run that stops early does not stop the others. If log is not nil, it gets one
// line per finished run; if report is not nil, each run's progress (Options.Report) with the
// experiment's name.
func RunExperiments(b compute.Backend, data *models.MNIST, exps []Experiment, log io.Writer, report func(name string, p Progress)) []Outcome {
	outs := make([]Outcome, len(exps))
	for i, e := range exps {
		start := time.Now()
		var opts Options
		if report != nil {
			opts.Report = func(p Progress) { report(e.Name, p) }
		}
		res, err := Train(b, data, e.Spec, opts)
		o := Outcome{Experiment: e, Result: res, Err: err, Wall: time.Since(start)}
		if res != nil {
			o.Steps = int(optimizer.GetGlobalStep(res.Store))
			o.SkippedPairs, o.NonFiniteSteps = res.Counters.Rejected, res.Counters.NonFinite
		}
		outs[i] = o
		if log != nil {
			fmt.Fprintln(log, o.Summary())
		}
	}
	return outs
}

// Summary is one line about o: steps, seconds and the final test accuracy, or why it stopped.
func (o Outcome) Summary() string {
	r, ok := o.Final()
	switch {
	case o.Result == nil:
		return fmt.Sprintf("%-22s did not start: %v", o.Name, o.Err)
	case o.Failed():
		return fmt.Sprintf("%-22s STOPPED at step %d after %.1f s of training: %v", o.Name, o.Steps, r.Seconds, o.Err)
	case !ok:
		return fmt.Sprintf("%-22s no rows", o.Name)
	}
	return fmt.Sprintf("%-22s %5d steps  %6.1f s training (%5.1f s wall)  batch loss %s  test loss %s  accuracy %.2f%%",
		o.Name, o.Steps, r.Seconds, o.Wall.Seconds(), formatLoss(r.TrainLoss), formatLoss(r.TestLoss), 100*r.TestAccur)
}

// formatLoss writes a loss with 4 decimals, or in 3 digits if it is huge (a diverged run's).
func formatLoss(v float64) string {
	if isFinite(v) && math.Abs(v) >= 1000 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// Ending says how o ended, for a sentence: "stopped at step 9 (non-finite loss)", "diverged: test
// loss 2.5e+35, accuracy 2.8%" (a final test loss above diverged, or NaN), or "test loss 0.365,
// accuracy 88.5%".
func (o Outcome) Ending(diverged float64) string {
	r, ok := o.Final()
	switch {
	case o.Failed():
		return fmt.Sprintf("stopped at step %d (non-finite loss)", o.Steps)
	case !ok:
		return "no rows"
	case r.TestLoss > diverged || math.IsNaN(r.TestLoss):
		return fmt.Sprintf("diverged: test loss %.3g, accuracy %.1f%%", r.TestLoss, 100*r.TestAccur)
	}
	return fmt.Sprintf("test loss %.3f, accuracy %.1f%%", r.TestLoss, 100*r.TestAccur)
}

// Curve returns columns x and y of o's rows, for a plot. Rows whose x or y is not finite are
// left out (the training loss at step 0, which has no batch yet; a diverged run's last rows).
func (o Outcome) Curve(x, y string) (xs, ys []float64, err error) {
	if o.Result == nil {
		return nil, nil, nil
	}
	for _, r := range o.Result.Rows {
		vx, err := Column(r, x)
		if err != nil {
			return nil, nil, err
		}
		vy, err := Column(r, y)
		if err != nil {
			return nil, nil, err
		}
		if isFinite(vx) && isFinite(vy) {
			xs, ys = append(xs, vx), append(ys, vy)
		}
	}
	return xs, ys, nil
}
