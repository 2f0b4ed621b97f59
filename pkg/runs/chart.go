package runs

import (
	"gonum.org/v1/plot"

	"qnlab/pkg/plots"
)

// Chart plots column y against column x for each outcome (Outcome.Curve); accuracy is drawn in
// percent on a linear axis, losses on a log axis, where values above clip (a diverged run's) are
// drawn at clip and the run's legend says "(clipped)", so that the other runs stay readable.
// clip ≤ 0 clips nothing.
func Chart(title, x, xlabel, y, ylabel string, clip float64, outs ...Outcome) (*plot.Plot, error) {
	var series []plots.Series
	accuracy := y == "test_accuracy"
	for _, o := range outs {
		xs, ys, err := o.Curve(x, y)
		if err != nil {
			return nil, err
		}
		name := o.Name
		for i := range ys {
			switch {
			case accuracy:
				ys[i] *= 100
			case clip > 0 && ys[i] > clip:
				ys[i], name = clip, o.Name+" (clipped)"
			}
		}
		series = append(series, plots.Series{Name: name, X: xs, Y: ys})
	}
	return plots.Lines(title, xlabel, ylabel, !accuracy, series...)
}
