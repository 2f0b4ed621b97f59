package runs

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
)

// fakeOutcome is a finished run with the given final training loss and accuracy (rows at steps
// 0, 5 and 10, 1 s per 5 steps).
func fakeOutcome(name string, loss, acc float64) Outcome {
	rows := []Row{
		{Step: 0, TrainLoss: math.NaN(), TestLoss: 2.3, TestAccur: 0.1},
		{Step: 5, Epoch: 0.5, Seconds: 1, TrainLoss: (2.3 + loss) / 2, TestLoss: 1, TestAccur: acc / 2},
		{Step: 10, Epoch: 1, Seconds: 2, TrainLoss: loss, TestLoss: loss, TestAccur: acc},
	}
	return Outcome{Experiment: Experiment{Name: name, Spec: Spec{Optimizer: "adam"}},
		Result: &Result{Spec: Spec{Optimizer: "adam", LR: 0.001, Inner: 1}, Rows: rows, Steps: 10}, Steps: 10}
}

func TestOrderingAndRanking(t *testing.T) {
	stopped := fakeOutcome("L-BFGS (paper γ)", 0.01, 0.99)
	stopped.Err, stopped.Steps = errors.New("runs: step 9 (lbfgs, lr 0.01): the training loss is NaN"), 9
	outs := []Outcome{fakeOutcome("SGD", 1.69, 0.6), stopped, fakeOutcome("Adam", 0.0044, 0.93), fakeOutcome("L-BFGS", 0.51, 0.8)}

	got, err := Ordering(outs, "train_loss")
	if want := "Adam 0.0044 < L-BFGS 0.51 < SGD 1.69 < L-BFGS (paper γ) (stopped at step 9)"; err != nil || got != want {
		t.Errorf("Ordering by train loss:\n got %q, %v\nwant %q", got, err, want)
	}
	got, err = Ordering(outs, "test_accuracy")
	if want := "Adam 93.00% > L-BFGS 80.00% > SGD 60.00% > L-BFGS (paper γ) (stopped at step 9)"; err != nil || got != want {
		t.Errorf("Ordering by accuracy:\n got %q, %v\nwant %q", got, err, want)
	}
	for _, c := range []struct {
		names []string
		want  bool
	}{
		{[]string{"Adam", "L-BFGS", "SGD"}, true},
		{[]string{"Adam", "SGD"}, true},
		{[]string{"SGD", "Adam"}, false},
		{[]string{"L-BFGS", "L-BFGS (paper γ)"}, true}, // a stopped run ranks last
	} {
		if got, err := InOrder(outs, "train_loss", c.names...); err != nil || got != c.want {
			t.Errorf("InOrder(%v) = %v, %v; want %v", c.names, got, err, c.want)
		}
	}
	if _, err := InOrder(outs, "train_loss", "Adam", "Newton"); err == nil {
		t.Error("InOrder with an unknown name: no error")
	}
	if _, err := Ordering(outs, "speed"); err == nil {
		t.Error("Ordering by an unknown column: no error")
	}
	if o, err := Find(outs, "Adam"); err != nil || o.Name != "Adam" {
		t.Errorf("Find(Adam) = %v, %v", o.Name, err)
	}
}

func TestCurveAndAt(t *testing.T) {
	o := fakeOutcome("Adam", 0.1, 0.9)
	xs, ys, err := o.Curve("seconds", "train_loss")
	if err != nil || len(xs) != 2 || xs[0] != 1 || ys[1] != 0.1 { // step 0 has no training loss
		t.Errorf("Curve(seconds, train_loss) = %v, %v, %v", xs, ys, err)
	}
	if _, _, err := o.Curve("minutes", "train_loss"); err == nil {
		t.Error("Curve with an unknown column: no error")
	}
	r, ok, err := o.At("epoch", 0.3)
	if err != nil || !ok || r.Step != 5 {
		t.Errorf("At(epoch 0.3) = step %d, %v, %v; want step 5", r.Step, ok, err)
	}
	if _, ok, _ := o.At("step", 11); ok {
		t.Error("At(step 11) beyond the run: ok")
	}
	if _, _, err := o.At("test_loss", 1); err == nil {
		t.Error("At on a column that does not grow: no error")
	}
}

func TestTable(t *testing.T) {
	stopped := fakeOutcome("L-BFGS-10 (paper γ)", 0.01, 0.99)
	stopped.Result.Spec = Spec{Optimizer: "lbfgs", LR: 0.01, Inner: 10, Gamma: lbfgs.GammaPaper}
	stopped.Err, stopped.Steps, stopped.SkippedPairs, stopped.NonFiniteSteps = errors.New("NaN"), 11, 1, 1
	table := Table([]Outcome{fakeOutcome("Adam", 0.05, 0.975), stopped, fakeOutcome("SGD", 2.89e23, 0.08)})
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want 4:\n%s", len(lines), table)
	}
	if cells := TableCells([]Outcome{stopped}); len(cells[0]) != len(TableHeader) || cells[0][12] != "1" || cells[0][13] != "1" {
		t.Errorf("cells %q under %q", cells, TableHeader)
	}
	for _, want := range []string{"97.50%", "200", "0.0500", "paper", "stopped at step 11", "2.89e+23"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestPlanRowsAtTheSameBatches: L-BFGS-10 and Adam record rows at the same epochs, and a plan
// with Batches stops every run after that many batches.
func TestPlanRowsAtTheSameBatches(t *testing.T) {
	p := Plan{Batch: 100, Batches: 40, Evals: 4, Seed: 1}
	adam := p.FullData("Adam", "adam", 0, 1, lbfgs.GammaNewest).Spec
	ten := p.FullData("L-BFGS-10", "lbfgs", 0, 10, lbfgs.GammaNewest).Spec
	if adam.MaxSteps != 40 || ten.MaxSteps != 400 || adam.EvalEvery != 10 || ten.EvalEvery != 100 {
		t.Errorf("adam: max steps %d, every %d; L-BFGS-10: max steps %d, every %d", adam.MaxSteps, adam.EvalEvery, ten.MaxSteps, ten.EvalEvery)
	}
	full := Plan{Batch: 128, Epochs: 4}.FullData("L-BFGS-1", "lbfgs", 0, 1, lbfgs.GammaPaper).Spec
	if full.MaxSteps != 0 || full.Epochs != 4 || full.EvalEvery != 4*469/20 || full.Gamma != lbfgs.GammaPaper {
		t.Errorf("4 epochs: %+v", full)
	}
	f3 := Plan{FixedN: 64, FixedSteps: 10, Evals: 5}.Figure3()
	if len(f3) != 4 || f3[3].Spec.Gamma != lbfgs.GammaPaper || f3[0].Spec.FixedN != 64 || f3[0].Spec.Epochs != 10 || f3[0].Spec.EvalEvery != 2 {
		t.Errorf("Figure3: %+v", f3)
	}
	if s := p.String(); !strings.Contains(s, "40 batches") || !strings.Contains(s, "lr 0.01") {
		t.Errorf("Plan.String() = %q", s)
	}
}

// TestRunExperiments: a diverging run is an outcome with its error and step, and the next run
// still runs; L-BFGS's counters are read from the store.
func TestRunExperiments(t *testing.T) {
	data := loadRealMNIST(t)
	base := Spec{Model: "mlp", FixedN: 64, Epochs: 6, EvalEvery: 1, EvalN: 100, Seed: 1}
	diverge := withOptimizer(base, "sgd", 1e12, 1, lbfgs.GammaNewest)
	var log strings.Builder
	last := map[string]Progress{}
	outs := RunExperiments(backend.MustDefault(), data, []Experiment{
		{"SGD, lr 1e12", diverge},
		{"L-BFGS", withOptimizer(base, "lbfgs", 0.1, 1, lbfgs.GammaNewest)},
	}, &log, func(name string, p Progress) { last[name] = p })
	if p := last["L-BFGS"]; !p.Done || p.Step != 6 || p.Total != 6 || p.Accuracy != outs[1].Result.Final().TestAccur {
		t.Errorf("L-BFGS's last progress report %+v, want Done at step 6 of 6 with the final accuracy", p)
	}
	if p := last["SGD, lr 1e12"]; !p.Done || p.Step != outs[0].Steps {
		t.Errorf("the diverged run's last progress report %+v, want Done at step %d", p, outs[0].Steps)
	}
	if len(outs) != 2 || !outs[0].Failed() || outs[0].Steps < 1 || outs[1].Failed() || outs[1].Steps != 6 {
		t.Fatalf("outcomes: %+v\n%s", outs, log.String())
	}
	if !strings.Contains(log.String(), "STOPPED at step") || strings.Count(log.String(), "\n") != 2 {
		t.Errorf("log:\n%s", log.String())
	}
	r, ok := outs[1].Final()
	if !ok || r.Step != 6 || !(r.TrainLoss < outs[1].Result.Rows[1].TrainLoss) {
		t.Errorf("L-BFGS rows: %+v", outs[1].Result.Rows)
	}
	if outs[1].SkippedPairs < 0 || outs[1].NonFiniteSteps != 0 {
		t.Errorf("L-BFGS counters: skipped %d, non-finite %d", outs[1].SkippedPairs, outs[1].NonFiniteSteps)
	}
}

func TestSaveLoadOutcomes(t *testing.T) {
	stopped := fakeOutcome("L-BFGS (paper γ)", 0.01, 0.99)
	stopped.Result.Spec = Spec{Optimizer: "lbfgs", LR: 0.01, Inner: 10, Gamma: lbfgs.GammaPaper}
	stopped.Err, stopped.Steps, stopped.SkippedPairs, stopped.NonFiniteSteps = errors.New("the training loss is NaN"), 9, 2, 1
	outs := []Outcome{fakeOutcome("Adam", 0.05, 0.975), stopped, {Experiment: Experiment{Name: "bad"}, Err: errors.New("unknown model")}}
	path := filepath.Join(t.TempDir(), "outs.gob")
	if err := SaveOutcomes(path, outs); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOutcomes(path)
	if err != nil || len(got) != 3 {
		t.Fatalf("LoadOutcomes: %d outcomes, %v", len(got), err)
	}
	if Table(got) != Table(outs) {
		t.Errorf("tables differ after a round trip:\n%s\n%s", Table(outs), Table(got))
	}
	if !math.IsNaN(got[0].Result.Rows[0].TrainLoss) || got[1].Err.Error() != "the training loss is NaN" || got[1].Result.Spec.Gamma != lbfgs.GammaPaper || got[2].Result != nil {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := LoadOutcomes(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadOutcomes of a missing file: no error")
	}
}

func TestAhead(t *testing.T) {
	a, b := fakeOutcome("A", 0.1, 0.9), fakeOutcome("B", 0.2, 0.8)
	a.Result.Rows[1].TestLoss = 1.5 // behind at epoch 0.5, ahead at 1
	ahead, n, err := Ahead(a, b, "epoch", "test_loss")
	if err != nil || n != 2 || len(ahead) != 1 || ahead[0] != 1 {
		t.Errorf("Ahead by test loss = %v of %d, %v; want [1] of 2", ahead, n, err)
	}
	ahead, n, err = Ahead(a, b, "step", "test_accuracy")
	if err != nil || n != 2 || len(ahead) != 2 {
		t.Errorf("Ahead by accuracy = %v of %d, %v; want both rows", ahead, n, err)
	}
	b.Result.Rows = b.Result.Rows[:2] // b has no row at step 10
	if _, n, _ := Ahead(a, b, "step", "test_loss"); n != 1 {
		t.Errorf("rows compared with a shorter run: %d, want 1", n)
	}
	if _, _, err := Ahead(a, b, "seconds", "test_loss"); err == nil {
		t.Error("Ahead matched on seconds: no error")
	}
}

func TestEnding(t *testing.T) {
	stopped := fakeOutcome("x", 0.1, 0.9)
	stopped.Err, stopped.Steps = errors.New("NaN"), 9
	huge := fakeOutcome("y", 2.5e35, 0.028)
	for _, c := range []struct {
		o    Outcome
		want string
	}{
		{fakeOutcome("z", 0.365, 0.885), "test loss 0.365, accuracy 88.5%"},
		{stopped, "stopped at step 9 (non-finite loss)"},
		{huge, "diverged: test loss 2.5e+35, accuracy 2.8%"},
		{Outcome{}, "no rows"},
	} {
		if got := c.o.Ending(10); got != c.want {
			t.Errorf("Ending = %q, want %q", got, c.want)
		}
	}
}

func TestChartPickAndPlans(t *testing.T) {
	diverged := fakeOutcome("L-BFGS (paper γ)", 2.5e35, 0.03)
	outs := []Outcome{fakeOutcome("Adam", 0.05, 0.97), diverged}
	p, err := Chart("t", "step", "step", "test_loss", "loss", 10, outs...)
	if err != nil {
		t.Fatal(err)
	}
	if max := p.Y.Max; max > 10 {
		t.Errorf("clipped chart: y max %g > 10", max)
	}
	if _, err := Chart("t", "step", "step", "loss", "loss", 10, outs...); err == nil {
		t.Error("unknown column: no error")
	}
	got, err := Pick(outs, "L-BFGS (paper γ)", "Adam")
	if err != nil || got[0].Name != "L-BFGS (paper γ)" || got[1].Name != "Adam" {
		t.Errorf("Pick: %v, %v", got, err)
	}
	if _, err := Pick(outs, "SGD"); err == nil {
		t.Error("Pick of a missing run: no error")
	}
	if (Outcome{}).Last() != (Row{}) || outs[0].Last().Step != 10 {
		t.Error("Last")
	}
	for _, size := range []string{"quick", "default", "full"} {
		if _, ok := PaperPlans[size]; !ok {
			t.Errorf("PaperPlans lacks %q", size)
		}
	}
	if e, err := ExperimentNamed(PaperPlans["quick"].Figure4(), "L-BFGS-10"); err != nil || e.Spec.Inner != 10 {
		t.Errorf("ExperimentNamed: %+v, %v", e, err)
	}
}
