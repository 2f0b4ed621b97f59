package models

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"qnlab/pkg/lbfgs"
)

// Experiment is one named training run of a comparison (one line of a figure).
type Experiment struct {
	Name   string // label in tables and legends, e.g. "L-BFGS-10"
	Config RunConfig
}

// Outcome is what one Experiment produced. A run that stops early (a non-finite training loss)
// is an Outcome with Err set and the rows recorded until then, not a failure of the comparison.
type Outcome struct {
	Experiment
	// Result holds the configuration with defaults and the rows (also those recorded before an
	// error); nil only if the run could not start (bad configuration).
	Result *RunResult
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

// RunExperiments trains each experiment in turn on backend b and returns their outcomes in the
// same order. A run that stops early does not stop the others. If log is not nil, it gets one
// line per finished run.
func RunExperiments(b compute.Backend, data *MNIST, exps []Experiment, log io.Writer) []Outcome {
	outs := make([]Outcome, len(exps))
	for i, e := range exps {
		start := time.Now()
		res, err := Train(b, data, e.Config)
		o := Outcome{Experiment: e, Result: res, Err: err, Wall: time.Since(start)}
		if res != nil {
			o.Steps = int(optimizer.GetGlobalStep(res.Store))
			o.SkippedPairs = counter(res.Store, lbfgs.VarSkipped)
			o.NonFiniteSteps = counter(res.Store, lbfgs.VarNonFinite)
		}
		outs[i] = o
		if log != nil {
			fmt.Fprintln(log, o.Summary())
		}
	}
	return outs
}

// counter reads one of L-BFGS's scalar counters from store (0 if absent).
func counter(store *model.Store, name string) int {
	v := store.GetVariable("/" + lbfgs.OptimizerScope + "/" + name)
	if v == nil {
		return 0
	}
	t, err := v.Value()
	if err != nil || t == nil || !t.Shape().IsScalar() {
		return 0
	}
	switch x := t.Value().(type) {
	case float32:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

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

// Columns are the names Column and Curve accept: the columns of metrics.csv.
var Columns = csvHeader

// Column returns the named column ("step", "epoch", "seconds", "train_loss", "test_loss",
// "test_accuracy") of r.
func Column(r Row, name string) (float64, error) {
	switch name {
	case "step":
		return float64(r.Step), nil
	case "epoch":
		return r.Epoch, nil
	case "seconds":
		return r.Seconds, nil
	case "train_loss":
		return r.TrainLoss, nil
	case "test_loss":
		return r.TestLoss, nil
	case "test_accuracy":
		return r.TestAccur, nil
	}
	return 0, fmt.Errorf("models: unknown column %q: want one of %s", name, strings.Join(Columns, ", "))
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

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
		c := o.Config
		if o.Result != nil {
			c = o.Result.Config
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
			return false, fmt.Errorf("models: no run named %q", n)
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
	return Outcome{}, fmt.Errorf("models: no run named %q", name)
}

// At returns o's first row at or after x in column "step", "epoch" or "seconds" (columns that
// grow with the rows); ok is false if the run has none (it stopped, or is shorter).
func (o Outcome) At(column string, x float64) (r Row, ok bool, err error) {
	if column != "step" && column != "epoch" && column != "seconds" {
		return Row{}, false, fmt.Errorf("models: At: column %q does not grow with the rows: want step, epoch or seconds", column)
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
		return nil, 0, fmt.Errorf("models: Ahead: match rows on step or epoch, not %q", x)
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

// Plan sizes the seed paper's three MNIST experiments (SimpleCNN, SGD lr 0.01, Adam lr 0.001,
// L-BFGS m = 10 with a fixed step; all from the same initial parameters). Every run records
// about Evals rows, at the same epochs for every optimizer.
type Plan struct {
	// FixedN and FixedSteps size Figure 3: FixedSteps full-batch steps on the first FixedN
	// training images.
	FixedN, FixedSteps int
	// Batch is the batch size of Figures 4 and 5 (the paper's 128).
	Batch int
	// Epochs of Figures 4 and 5 (the paper's 4). If Batches > 0, the runs stop after Batches
	// batches instead (a fraction of an epoch, for a short render).
	Epochs, Batches int
	// Evals is the number of rows (evaluations) per run after step 0. If 0, 20.
	Evals int
	// EvalN evaluates on the first EvalN test images (0: all 10,000).
	EvalN int
	// LR is L-BFGS's fixed step. If 0, the paper's 0.01.
	LR float64
	// Seed of the initial parameters and of the batch order.
	Seed uint64
}

func (p Plan) evals() int {
	if p.Evals <= 0 {
		return 20
	}
	return p.Evals
}

// every returns EvalEvery for a run of total steps: about Evals rows, at least every step.
func (p Plan) every(total int) int { return max(1, total/p.evals()) }

// Figure3 is the fixed-sample experiment: SGD, Adam, L-BFGS (γ newest) and L-BFGS (γ paper),
// FixedSteps full-batch steps each.
func (p Plan) Figure3() []Experiment {
	base := RunConfig{Model: "cnn", FixedN: p.FixedN, Epochs: p.FixedSteps, EvalEvery: p.every(p.FixedSteps), EvalN: p.EvalN, Seed: p.Seed}
	return []Experiment{
		{"SGD", withOptimizer(base, "sgd", 0, 1, lbfgs.GammaNewest)},
		{"Adam", withOptimizer(base, "adam", 0, 1, lbfgs.GammaNewest)},
		{"L-BFGS", withOptimizer(base, "lbfgs", p.LR, 1, lbfgs.GammaNewest)},
		{"L-BFGS (paper γ)", withOptimizer(base, "lbfgs", p.LR, 1, lbfgs.GammaPaper)},
	}
}

// FullData returns one run on the full training set in batches, sized by the plan: inner
// optimizer steps per batch (L-BFGS-10: 10), rows at the same batches whatever inner is.
func (p Plan) FullData(name, opt string, lr float64, inner int, gamma lbfgs.GammaRule) Experiment {
	batch := p.Batch
	if batch <= 0 {
		batch = 128
	}
	epochs := max(1, p.Epochs)
	batches := epochs * ((60000 + batch - 1) / batch)
	c := RunConfig{Model: "cnn", Batch: batch, Epochs: epochs, EvalN: p.EvalN, Seed: p.Seed}
	if p.Batches > 0 {
		batches = p.Batches
		c.MaxSteps = batches * inner
	}
	c.EvalEvery = p.every(batches) * inner
	return Experiment{name, withOptimizer(c, opt, lr, inner, gamma)}
}

// Figure4 is the full-data experiment: SGD, Adam, L-BFGS-10 (γ newest) and L-BFGS-10 (γ paper).
func (p Plan) Figure4() []Experiment {
	return []Experiment{
		p.FullData("SGD", "sgd", 0, 1, lbfgs.GammaNewest),
		p.FullData("Adam", "adam", 0, 1, lbfgs.GammaNewest),
		p.FullData("L-BFGS-10", "lbfgs", p.LR, 10, lbfgs.GammaNewest),
		p.FullData("L-BFGS-10 (paper γ)", "lbfgs", p.LR, 10, lbfgs.GammaPaper),
	}
}

// Figure5 is L-BFGS-1 (one update per batch, γ newest and paper) on the full data; compare it
// with Figure4's SGD and Adam, which see the same batches.
func (p Plan) Figure5() []Experiment {
	return []Experiment{
		p.FullData("L-BFGS-1", "lbfgs", p.LR, 1, lbfgs.GammaNewest),
		p.FullData("L-BFGS-1 (paper γ)", "lbfgs", p.LR, 1, lbfgs.GammaPaper),
	}
}

func withOptimizer(c RunConfig, opt string, lr float64, inner int, gamma lbfgs.GammaRule) RunConfig {
	c.Optimizer, c.LR, c.Inner, c.Gamma = opt, lr, inner, gamma
	return c
}

// String describes the plan's sizes in three lines, for a notebook to print.
func (p Plan) String() string {
	full := fmt.Sprintf("%d epochs", max(1, p.Epochs))
	if p.Batches > 0 {
		full = fmt.Sprintf("%d batches (%.2f epochs)", p.Batches, float64(p.Batches)/math.Ceil(60000/float64(max(1, p.Batch))))
	}
	evalN := "all 10,000 test images"
	if p.EvalN > 0 {
		evalN = fmt.Sprintf("the first %d test images", p.EvalN)
	}
	lr := p.LR
	if lr == 0 {
		lr = lbfgs.DefaultLearningRate
	}
	return fmt.Sprintf("Figure 3: %d full-batch steps on the first %d training images.\nFigures 4–5: batch %d, %s.\n"+
		"L-BFGS lr %g; about %d evaluations per run on %s; seed %d.", p.FixedSteps, p.FixedN, p.Batch, full, lr, p.evals(), evalN, p.Seed)
}

// savedOutcome is an Outcome as SaveOutcomes writes it (no store, no log writer, the error as text).
type savedOutcome struct {
	Name, Model, Optimizer, Backend, Err string
	LR                                   float64
	Batch, Inner, FixedN, Epochs, M      int
	MaxSteps, EvalEvery, EvalN           int
	Gamma                                lbfgs.GammaRule
	Seed                                 uint64
	Rows                                 []Row
	Steps, SkippedPairs, NonFiniteSteps  int
	Wall                                 time.Duration
	Started                              bool
}

// SaveOutcomes writes outs (names, configurations, rows, errors as text, counters; not the
// trained variables) to path, for LoadOutcomes: a notebook runs experiments in one cell and
// plots them in the next ones, which are separate programs.
func SaveOutcomes(path string, outs []Outcome) error {
	saved := make([]savedOutcome, len(outs))
	for i, o := range outs {
		c := o.Config
		if o.Result != nil {
			c = o.Result.Config
		}
		s := savedOutcome{Name: o.Name, Model: c.Model, Optimizer: c.Optimizer, LR: c.LR, Batch: c.Batch, Inner: c.Inner,
			FixedN: c.FixedN, Epochs: c.Epochs, M: c.M, MaxSteps: c.MaxSteps, EvalEvery: c.EvalEvery, EvalN: c.EvalN,
			Gamma: c.Gamma, Seed: c.Seed, Steps: o.Steps, SkippedPairs: o.SkippedPairs, NonFiniteSteps: o.NonFiniteSteps,
			Wall: o.Wall, Started: o.Result != nil}
		if o.Err != nil {
			s.Err = o.Err.Error()
		}
		if o.Result != nil {
			s.Rows, s.Backend = o.Result.Rows, o.Result.Backend
		}
		saved[i] = s
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := errors.Join(gob.NewEncoder(f).Encode(saved), f.Close()); err != nil {
		return fmt.Errorf("models: saving outcomes to %s: %w", path, err)
	}
	return nil
}

// LoadOutcomes reads what SaveOutcomes wrote. The outcomes have no Store.
func LoadOutcomes(path string) ([]Outcome, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: %w (run the experiments first)", err)
	}
	defer f.Close()
	var saved []savedOutcome
	if err := gob.NewDecoder(f).Decode(&saved); err != nil {
		return nil, fmt.Errorf("models: reading outcomes from %s: %w", path, err)
	}
	outs := make([]Outcome, len(saved))
	for i, s := range saved {
		c := RunConfig{Model: s.Model, Optimizer: s.Optimizer, LR: s.LR, Batch: s.Batch, Inner: s.Inner, FixedN: s.FixedN,
			Epochs: s.Epochs, M: s.M, MaxSteps: s.MaxSteps, EvalEvery: s.EvalEvery, EvalN: s.EvalN, Gamma: s.Gamma, Seed: s.Seed}
		o := Outcome{Experiment: Experiment{Name: s.Name, Config: c}, Steps: s.Steps, SkippedPairs: s.SkippedPairs,
			NonFiniteSteps: s.NonFiniteSteps, Wall: s.Wall}
		if s.Err != "" {
			o.Err = errors.New(s.Err)
		}
		if s.Started {
			o.Result = &RunResult{Config: c, Rows: s.Rows, Backend: s.Backend}
			if s.Err == "" {
				o.Result.Steps = s.Steps
			}
		}
		outs[i] = o
	}
	return outs, nil
}
