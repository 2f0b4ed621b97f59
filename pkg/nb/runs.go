package nb

import (
	"os"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
	"qnlab/pkg/models"
	"qnlab/pkg/runs"
)

// RunExperiments trains exps on MNIST (models.LoadDefaultMNIST) on the default backend, prints a
// line per run, and saves the outcomes as name (Saved) for later cells, which load them with
// Outcomes.
func RunExperiments(name string, exps []runs.Experiment) []runs.Outcome {
	data := Must(models.LoadDefaultMNIST())
	outs := runs.RunExperiments(backend.MustDefault(), data, exps, os.Stdout, ExperimentProgress())
	Check(runs.SaveOutcomes(Saved(name+".gob"), outs))
	return outs
}

// Outcomes returns the outcomes RunExperiments saved under the given names, in order.
func Outcomes(names ...string) []runs.Outcome {
	var outs []runs.Outcome
	for _, name := range names {
		outs = append(outs, Must(runs.LoadOutcomes(Saved(name+".gob")))...)
	}
	return outs
}

// Evaluator compiles f's value and gradient on the default backend (funcs.Func.Evaluator), or
// panics with the first error: nb.Evaluator(funcs.Rosenbrock(2)).
func Evaluator(f *funcs.Func, err error) *funcs.Evaluator {
	return Must(Must(f, err).Evaluator(backend.MustDefault()))
}
