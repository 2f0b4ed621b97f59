package runs

import (
	"fmt"
	"math"

	"qnlab/pkg/lbfgs"
)

// Plan sizes the seed paper's three MNIST experiments (SimpleCNN, SGD lr 0.01, Adam lr 0.001 —
// the paper gives neither learning rate — and L-BFGS m = 10 with the paper's fixed step; all from
// the same initial parameters). Every run records
// about Evals rows, at the same epochs for every optimizer.
type Plan struct {
	// FixedN and FixedSteps size Figure 3: FixedSteps full-batch steps on the first FixedN
	// training images (the paper does not say how many).
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

// PaperPlans size the seed paper's experiments for a render: "quick" (seconds, for tests),
// "default" (the course: 0.17 epochs of Figures 4–5, minutes; cut from 0.32 epochs to make
// room in the render budget for notebook 07) and "full" (the paper's four
// epochs; an L-BFGS-10 run alone takes hours on 2 cores).
var PaperPlans = map[string]Plan{
	"quick":   {FixedN: 64, FixedSteps: 12, Batch: 64, Batches: 6, Evals: 3, EvalN: 200, Seed: 1},
	"default": {FixedN: 256, FixedSteps: 60, Batch: 128, Batches: 80, Evals: 15, EvalN: 2000, Seed: 1},
	"full":    {FixedN: 1000, FixedSteps: 200, Batch: 128, Epochs: 4, Evals: 40, Seed: 1},
}

// ExperimentNamed returns the experiment called name among exps.
func ExperimentNamed(exps []Experiment, name string) (Experiment, error) {
	for _, e := range exps {
		if e.Name == name {
			return e, nil
		}
	}
	return Experiment{}, fmt.Errorf("runs: no experiment named %q", name)
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
	base := Spec{Model: "cnn", FixedN: p.FixedN, Epochs: p.FixedSteps, EvalEvery: p.every(p.FixedSteps), EvalN: p.EvalN, Seed: p.Seed}
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
	c := Spec{Model: "cnn", Batch: batch, Epochs: epochs, EvalN: p.EvalN, Seed: p.Seed}
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

func withOptimizer(c Spec, opt string, lr float64, inner int, gamma lbfgs.GammaRule) Spec {
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
