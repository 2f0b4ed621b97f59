package runs

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// TableHeader names the columns of TableCells: the run, its step size, inner steps per batch
// and γ rule; steps, epochs, training seconds (evaluation excluded), milliseconds per step,
// wall-clock seconds (compilation and evaluations included); the last batch loss, test loss and
// test accuracy; L-BFGS's rejected pairs and non-finite steps.
var TableHeader = []string{"run", "lr", "inner", "γ", "steps", "epochs", "train s", "ms/step", "wall s",
	"batch loss", "test loss", "test acc", "skipped", "non-finite"}

// TableCells formats outcomes as table cells under TableHeader, one row per outcome; "-" where a
// value does not apply or is missing.
func TableCells(outs []Outcome) [][]string {
	rows := make([][]string, len(outs))
	for i, o := range outs {
		c := o.Spec
		if o.Result != nil {
			c = o.Result.Spec
		}
		r, ok := o.Final()
		num := func(format string, v float64) string {
			if !ok || !isFinite(v) {
				return "-"
			}
			return fmt.Sprintf(format, v)
		}
		loss := func(v float64) string {
			if !ok || !isFinite(v) {
				return "-"
			}
			return formatLoss(v)
		}
		msPerStep := math.NaN()
		if o.Steps > 0 {
			msPerStep = 1000 * r.Seconds / float64(o.Steps)
		}
		acc := num("%.2f%%", 100*r.TestAccur)
		if o.Failed() {
			acc = fmt.Sprintf("stopped at step %d", o.Steps)
		}
		gamma, skipped, nonFinite := "-", "-", "-"
		if c.Optimizer == "lbfgs" {
			gamma, skipped, nonFinite = c.Gamma.String(), fmt.Sprint(o.SkippedPairs), fmt.Sprint(o.NonFiniteSteps)
		}
		rows[i] = []string{o.Name, fmt.Sprintf("%g", c.LR), fmt.Sprint(c.Inner), gamma, fmt.Sprint(o.Steps),
			num("%.3g", r.Epoch), num("%.1f", r.Seconds), num("%.0f", msPerStep), fmt.Sprintf("%.1f", o.Wall.Seconds()),
			loss(r.TrainLoss), loss(r.TestLoss), acc, skipped, nonFinite}
	}
	return rows
}

// Table formats outcomes as a fixed-width text table (TableHeader, TableCells).
func Table(outs []Outcome) string {
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range append([][]string{TableHeader}, TableCells(outs)...) {
		fmt.Fprintln(w, strings.Join(row, "\t")+"\t")
	}
	_ = w.Flush()
	return sb.String()
}

// Ranked returns the outcomes ordered by the final value of column y, best first: lowest for
// losses, highest for "test_accuracy". Runs that stopped early or have no finite value come
// last, in their given order.
func Ranked(outs []Outcome, y string) ([]Outcome, error) {
	if _, err := Column(Row{}, y); err != nil {
		return nil, err
	}
	value := func(o Outcome) (float64, bool) {
		r, ok := o.Final()
		if !ok || o.Failed() {
			return 0, false
		}
		v, _ := Column(r, y)
		return v, isFinite(v)
	}
	ranked := append([]Outcome(nil), outs...)
	sort.SliceStable(ranked, func(i, j int) bool {
		vi, oki := value(ranked[i])
		vj, okj := value(ranked[j])
		if oki != okj {
			return oki
		}
		if !oki {
			return false
		}
		if y == "test_accuracy" {
			return vi > vj
		}
		return vi < vj
	})
	return ranked, nil
}

// Ordering writes the ranking by column y as "Adam 0.0044 < L-BFGS 0.51 < SGD 1.69" (for
// accuracy: "Adam 93.4% > …"); a run that stopped early reads "L-BFGS (stopped at step 9)".
func Ordering(outs []Outcome, y string) (string, error) {
	ranked, err := Ranked(outs, y)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(ranked))
	for i, o := range ranked {
		r, ok := o.Final()
		v, _ := Column(r, y)
		switch {
		case o.Failed():
			parts[i] = fmt.Sprintf("%s (stopped at step %d)", o.Name, o.Steps)
		case !ok || !isFinite(v):
			parts[i] = o.Name + " (no value)"
		case y == "test_accuracy":
			parts[i] = fmt.Sprintf("%s %.2f%%", o.Name, 100*v)
		default:
			parts[i] = fmt.Sprintf("%s %.3g", o.Name, v)
		}
	}
	sep := " < "
	if y == "test_accuracy" {
		sep = " > "
	}
	return strings.Join(parts, sep), nil
}

// InOrder reports whether the named runs rank in the given order (best first) by the final
// value of column y; names not among outs are an error.
func InOrder(outs []Outcome, y string, names ...string) (bool, error) {
	ranked, err := Ranked(outs, y)
	if err != nil {
		return false, err
	}
	pos := make(map[string]int, len(ranked))
	for i, o := range ranked {
		pos[o.Name] = i
	}
	for i, n := range names {
		if _, ok := pos[n]; !ok {
			return false, fmt.Errorf("runs: no run named %q", n)
		}
		if i > 0 && pos[names[i-1]] > pos[n] {
			return false, nil
		}
	}
	return true, nil
}

// Find returns the outcome named name.
func Find(outs []Outcome, name string) (Outcome, error) {
	for _, o := range outs {
		if o.Name == name {
			return o, nil
		}
	}
	return Outcome{}, fmt.Errorf("runs: no run named %q", name)
}

// Pick returns the outcomes with the given names, in that order.
func Pick(outs []Outcome, names ...string) ([]Outcome, error) {
	picked := make([]Outcome, len(names))
	for i, n := range names {
		o, err := Find(outs, n)
		if err != nil {
			return nil, err
		}
		picked[i] = o
	}
	return picked, nil
}

// At returns o's first row at or after x in column "step", "epoch" or "seconds" (columns that
// grow with the rows); ok is false if the run has none (it stopped, or is shorter).
func (o Outcome) At(column string, x float64) (r Row, ok bool, err error) {
	if column != "step" && column != "epoch" && column != "seconds" {
		return Row{}, false, fmt.Errorf("runs: At: column %q does not grow with the rows: want step, epoch or seconds", column)
	}
	if o.Result == nil {
		return Row{}, false, nil
	}
	for _, r := range o.Result.Rows {
		v, _ := Column(r, column)
		if v >= x*(1-1e-9) {
			return r, true, nil
		}
	}
	return Row{}, false, nil
}

// Ahead compares two runs row by row at the same steps (Plan's runs record rows at the same
// epochs whatever their inner steps; match on "epoch" for those, on "step" for runs with the
// same steps): it returns the x values of the rows after step 0 where a's column y was better
// than b's (lower, or higher for "test_accuracy"), and how many rows were compared.
func Ahead(a, b Outcome, x, y string) (ahead []float64, compared int, err error) {
	if x != "step" && x != "epoch" {
		return nil, 0, fmt.Errorf("runs: Ahead: match rows on step or epoch, not %q", x)
	}
	if _, err := Column(Row{}, y); err != nil {
		return nil, 0, err
	}
	if a.Result == nil || b.Result == nil {
		return nil, 0, nil
	}
	for _, ra := range a.Result.Rows {
		if ra.Step == 0 {
			continue
		}
		xa, _ := Column(ra, x)
		rb, ok, _ := b.At(x, xa)
		if xb, _ := Column(rb, x); !ok || math.Abs(xb-xa) > 1e-9*math.Max(1, math.Abs(xa)) {
			continue
		}
		va, _ := Column(ra, y)
		vb, _ := Column(rb, y)
		if !isFinite(va) || !isFinite(vb) {
			continue
		}
		compared++
		if (y == "test_accuracy" && va > vb) || (y != "test_accuracy" && va < vb) {
			ahead = append(ahead, xa)
		}
	}
	return ahead, compared, nil
}
