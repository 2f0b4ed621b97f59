package runs

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/ml/train/optimizer"

	"qnlab/pkg/firstorder"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/precond"
)

// Optimizer is one entry of the optimizer registry: what qnlab mnist's -opt, the runner and the
// notebooks know about an optimizer.
type Optimizer struct {
	// Name is what Spec.Optimizer and -opt take.
	Name string
	// About is one line for help texts.
	About string
	// DefaultLR is the learning rate when Spec.LR is 0; 0 for an optimizer without one (adadelta).
	DefaultLR float64
	// Keys lists the Spec keys (flag names) that only this optimizer reads, beyond the ones
	// every run has (e.g. "m" and "gamma" for lbfgs).
	Keys []string
	// Method is the first-order method this entry runs (firstorder.New), or 0.
	Method firstorder.Method
	// Pairs is the stochastic L-BFGS this entry runs (lbfgs.Stochastic), or 0.
	Pairs lbfgs.Pairs
	// New builds the optimizer for s (defaults filled in).
	New func(s Spec) (optimizer.Interface, error)
}

// optimizers is the registry, in the order help texts list it: sgd, adam and lbfgs (the seed
// paper's three), then the lecture's first-order methods (gd is sgd under the lecture's name).
var optimizers = append([]Optimizer{
	firstOrder("sgd", firstorder.GD, "plain SGD: θ ← θ − η·g (= gd; GoMLX's, without its 1/√step decay)"),
	firstOrder("adam", firstorder.Adam, "Adam (GoMLX's; β1 = 0.9, β2 = 0.999, ε = 1e-7 by default)"),
	{Name: "lbfgs", About: "the seed paper's L-BFGS with a fixed step (lbfgs.Optimizer)", DefaultLR: lbfgs.DefaultLearningRate,
		Keys: []string{"m", "gamma"},
		New: func(s Spec) (optimizer.Interface, error) {
			return lbfgs.Optimizer().M(s.M).LearningRate(s.LR).Gamma(s.Gamma).Done()
		}},
}, append(lecture(), append(stochastic(), kronecker()...)...)...)

// kronecker returns the registry entries of the Kronecker-factored methods (pkg/precond).
func kronecker() []Optimizer {
	return []Optimizer{
		{Name: "kfac", About: "K-FAC: natural gradient with Kronecker-factored Fisher blocks A ⊗ G (Martens & Grosse 2015; KFC convolutions)",
			DefaultLR: precond.DefaultKFACLR, Keys: []string{"momentum", "lambda", "stats-every", "inv-every", "stats-decay", "kl-clip", "fisher"},
			New: func(s Spec) (optimizer.Interface, error) {
				f, err := precond.ParseFisher(s.Fisher)
				if err != nil {
					return nil, err
				}
				kl := max(s.KLClip, 0) // < 0: none
				return precond.KFAC().LearningRate(s.LR).Momentum(s.Momentum).Damping(s.Lambda).StatsEvery(s.StatsEvery).
					InverseEvery(s.InvEvery).StatsDecay(s.StatsDecay).KLClip(kl).Fisher(f).Done()
			}},
		{Name: "shampoo", About: "Shampoo: L^(−1/4)·G·R^(−1/4) per block, grafted onto Adam's step norm (Gupta et al. 2018; Shi et al. 2023)",
			DefaultLR: precond.DefaultShampooLR, Keys: []string{"beta1", "beta2", "eps", "inv-every", "block", "graft"},
			New: func(s Spec) (optimizer.Interface, error) {
				gr, err := precond.ParseGraft(s.Graft)
				if err != nil {
					return nil, err
				}
				return precond.Shampoo().LearningRate(s.LR).Betas(s.Beta1, s.Beta2).Epsilon(s.Eps).RootEvery(s.InvEvery).
					Block(s.Block).Graft(gr).Done()
			}},
	}
}

// stochastic returns the registry entries of the stochastic L-BFGS methods.
func stochastic() []Optimizer {
	common := []string{"m", "gamma", "damping", "curv-eps", "armijo", "momentum", "diag-h0"}
	entry := func(p lbfgs.Pairs, about string, keys ...string) Optimizer {
		return Optimizer{Name: p.String(), About: about, DefaultLR: DefaultStochasticLR, Keys: append(keys, common...), Pairs: p,
			New: func(s Spec) (optimizer.Interface, error) {
				c := lbfgs.Stochastic(p, s.Batch).M(s.M).LearningRate(s.LR).Gamma(s.Gamma).Damping(s.Damping).
					ScaledCurvature(s.CurvEps).Armijo(s.Armijo).Momentum(s.Momentum).DiagonalH0(s.DiagH0)
				switch p {
				case lbfgs.MultiBatch:
					c.Overlap(s.Overlap)
				case lbfgs.SQN:
					c.Every(s.Every).HessianBatch(s.HessianBatch)
				}
				return c.Done()
			}}
	}
	return []Optimizer{
		entry(lbfgs.OLBFGS, "online L-BFGS: y from one batch at both points, 2 gradients a step (Schraudolph, Yu & Günter 2007)"),
		entry(lbfgs.MultiBatch, "multi-batch L-BFGS: consecutive batches overlap, y from the shared part (Berahas, Nocedal & Takáč 2016)", "overlap"),
		entry(lbfgs.SQN, "SQN: pairs every L steps from Hessian-vector products at averaged iterates (Byrd, Hansen, Nocedal & Singer 2016)", "every", "hbatch"),
	}
}

// DefaultStochasticLR is the stochastic L-BFGS methods' default step.
const DefaultStochasticLR = 0.1

// lecture returns the registry entries of the lecture's methods other than adam.
func lecture() []Optimizer {
	about := map[firstorder.Method]string{
		firstorder.GD:       "gradient descent θ ← θ − η·g (on mini-batches: SGD)",
		firstorder.Momentum: "momentum (Polyak 1964)",
		firstorder.Nesterov: "Nesterov's accelerated gradient (Sutskever et al. 2013 form)",
		firstorder.Adagrad:  "Adagrad (Duchi et al. 2011)",
		firstorder.Adadelta: "Adadelta (Zeiler 2012; no learning rate)",
		firstorder.RMSProp:  "RMSprop (Tieleman & Hinton 2012; no bias correction)",
		firstorder.AdaMax:   "AdaMax (Kingma & Ba 2015, Alg. 2)",
		firstorder.Nadam:    "Nadam (Dozat 2016)",
	}
	var out []Optimizer
	for _, m := range firstorder.Methods() {
		if m != firstorder.Adam {
			out = append(out, firstOrder(m.String(), m, about[m]))
		}
	}
	return out
}

// firstOrder is the registry entry called name for method m: its default learning rate and keys
// from firstorder.Defaults and Method.Params.
func firstOrder(name string, m firstorder.Method, about string) Optimizer {
	var keys []string
	for _, p := range append(m.Params(), "clip") {
		if p != "lr" {
			keys = append(keys, p)
		}
	}
	return Optimizer{Name: name, About: about, DefaultLR: firstorder.Defaults(m).LR, Keys: keys, Method: m,
		New: func(s Spec) (optimizer.Interface, error) { return firstorder.New(m, s.hyper()) }}
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

// OptimizerNames lists the registry's names as "sgd, adam, lbfgs, … or nadam".
func OptimizerNames() string {
	names := make([]string, len(optimizers))
	for i, o := range optimizers {
		names[i] = o.Name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
