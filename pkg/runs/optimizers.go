package runs

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/lbfgs"
)

// Optimizer is one entry of the optimizer registry: what qnlab mnist's -opt, the runner and the
// notebooks know about an optimizer.
type Optimizer struct {
	// Name is what Spec.Optimizer and -opt take.
	Name string
	// About is one line for help texts.
	About string
	// DefaultLR is the learning rate when Spec.LR is 0.
	DefaultLR float64
	// Keys lists the Spec keys (flag names) that only this optimizer reads, beyond the ones
	// every run has (e.g. "m" and "gamma" for lbfgs).
	Keys []string
	// New builds the optimizer for s (defaults filled in).
	New func(s Spec) (optimizer.Interface, error)
}

// optimizers is the registry, in the order help texts list it.
var optimizers = []Optimizer{
	{Name: "sgd", About: "plain SGD (GoMLX's, without its 1/√step decay)", DefaultLR: 0.01,
		New: func(s Spec) (optimizer.Interface, error) {
			return optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(s.LR).Done(), nil
		}},
	{Name: "adam", About: "Adam (GoMLX's: β = 0.9, 0.999, ε = 1e-7)", DefaultLR: 0.001,
		New: func(s Spec) (optimizer.Interface, error) {
			return optimizer.Adam().LearningRate(s.LR).Done(), nil
		}},
	{Name: "lbfgs", About: "the seed paper's L-BFGS with a fixed step (lbfgs.Optimizer)", DefaultLR: lbfgs.DefaultLearningRate,
		Keys: []string{"m", "gamma"},
		New: func(s Spec) (optimizer.Interface, error) {
			return lbfgs.Optimizer().M(s.M).LearningRate(s.LR).Gamma(s.Gamma).Done()
		}},
}

// Optimizers returns the registry.
func Optimizers() []Optimizer { return append([]Optimizer(nil), optimizers...) }

// LookupOptimizer returns the registry's entry called name.
func LookupOptimizer(name string) (Optimizer, error) {
	for _, o := range optimizers {
		if o.Name == name {
			return o, nil
		}
	}
	return Optimizer{}, fmt.Errorf("runs: unknown optimizer %q: want %s", name, OptimizerNames())
}

// OptimizerNames lists the registry's names as "sgd, adam or lbfgs".
func OptimizerNames() string {
	names := make([]string, len(optimizers))
	for i, o := range optimizers {
		names[i] = o.Name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
