package runs

import (
	"github.com/gomlx/compute/dtypes"

	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"qnlab/pkg/firstorder"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
	"qnlab/pkg/precond"
)

// Spec is what a run trains and how: every setting that decides its numbers. The zero value
// (plus a seed) trains the CNN for one epoch of batches of 128 with Adam; WithDefaults fills
// the zeros in. It is saved in run.json; its JSON keys are qnlab mnist's flag names.
type Spec struct {
	// Model is "cnn" (SimpleCNN, the default) or "mlp" (models.ByName).
	Model string `json:"model"`
	// Optimizer is a name in the registry (Optimizers): "adam" (the default), "sgd", "lbfgs", or
	// one of the lecture's first-order methods (firstorder.Methods).
	Optimizer string `json:"opt"`
	// LR is the learning rate. If 0, the optimizer's DefaultLR. Adadelta has none: its LR stays 0.
	LR float64 `json:"lr"`
	// Inner is the number of optimizer steps on each batch (the paper's L-BFGS-10: 10). If 0, 1.
	Inner int `json:"inner"`
	// Epochs is the number of passes over the data. If 0, 1. With FixedN, an epoch is one
	// (full-batch) batch.
	Epochs int `json:"epochs"`
	// Batch is the batch size. If 0, 128. Ignored with FixedN.
	Batch int `json:"batch"`
	// FixedN > 0 trains on the first FixedN training images as one full batch (the paper's
	// fixed-sample experiment).
	FixedN int `json:"fixed"`
	// M is the L-BFGS history size. If 0, lbfgs.DefaultM (10).
	M int `json:"m"`
	// Gamma is the L-BFGS γ rule (lbfgs.GammaNewest, the default, or lbfgs.GammaPaper).
	Gamma lbfgs.GammaRule `json:"gamma"`
	// Momentum, Decay, Beta1, Beta2 and Eps are the first-order methods' hyperparameters (γ of
	// momentum and nesterov; γ of adadelta and rmsprop; β1, β2 of adam, adamax and nadam; ε): each
	// optimizer reads its own (its registry Keys). If 0, firstorder.Defaults; the other
	// optimizers' stay 0.
	Momentum float64 `json:"momentum"`
	Decay    float64 `json:"decay"`
	Beta1    float64 `json:"beta1"`
	Beta2    float64 `json:"beta2"`
	Eps      float64 `json:"eps"`
	// Clip, if > 0, clips the gradient to this global norm before a first-order method's rule
	// (firstorder.Clipped); 0 does not clip.
	Clip float64 `json:"clip"`
	// Overlap, Every, HessianBatch, Damping, CurvEps and Armijo are the stochastic L-BFGS
	// settings (lbfgs.StochasticConfig): mblbfgs's shared fraction of a batch (0: 0.25), sqn's
	// steps between pairs L (0: 10) and Hessian batch b_H (0: 512), Powell damping, the
	// scale-invariant curvature test's ε (0: the relative test) and the Armijo trials (0: a
	// fixed step); with them Momentum is β of the gradient average (0: none).
	Overlap      float64 `json:"overlap"`
	Every        int     `json:"every"`
	HessianBatch int     `json:"hbatch"`
	Damping      bool    `json:"damping"`
	CurvEps      float64 `json:"curv-eps"`
	Armijo       int     `json:"armijo"`
	// DiagH0 gives the stochastic L-BFGS methods Adam's diagonal as H_0 (lbfgs
	// StochasticConfig.DiagonalH0) instead of γ·I.
	DiagH0 bool `json:"diag-h0"`
	// Lambda, StatsEvery, InvEvery, StatsDecay, KLClip and Fisher are K-FAC's settings
	// (precond.KFACConfig): the Tikhonov damping γ (0: 1e-3), steps between statistics (0: 10)
	// and between inverse refreshes (0: 100; Shampoo's root refreshes too), the factors' decay
	// (0: 0.95), the KL clip κ (0: 1e-3; < 0: none) and the G factor's estimator ("sampled",
	// the default, "empirical" or "exact"); with kfac Momentum is μ (0: 0.9). Block and Graft
	// are Shampoo's (precond.ShampooConfig): the largest block side (0: 256) and the grafted
	// step ("adam", the default, or "sgd"); with shampoo Beta1, Beta2 and Eps are its β₁ (0: 0.9),
	// β₂ (0: 0.999) and ε (0: 1e-12).
	Lambda     float64 `json:"lambda"`
	StatsEvery int     `json:"stats-every"`
	InvEvery   int     `json:"inv-every"`
	StatsDecay float64 `json:"stats-decay"`
	KLClip     float64 `json:"kl-clip"`
	Fisher     string  `json:"fisher"`
	Block      int     `json:"block"`
	Graft      string  `json:"graft"`
	// Seed seeds the initial parameters and the batch order: same seed, same numbers.
	Seed uint64 `json:"seed"`
	// EvalEvery adds a row (test loss and accuracy) every EvalEvery steps; there is always one
	// at step 0 and one at the end. If 0, only those two.
	EvalEvery int `json:"eval-every"`
	// EvalN evaluates on the first EvalN test images. If 0, on all of them (10,000).
	EvalN int `json:"eval-n"`
	// MaxSteps, if > 0, stops after this many optimizer steps in all (counting a resumed run's
	// earlier steps).
	MaxSteps int `json:"max-steps"`
	// DType is the dtype of the parameters, the data and the optimizer's state: "float32" (the
	// default) or "float64" (for studies where float32 rounding matters, e.g. to curvature pairs).
	DType string `json:"dtype"`
}

// Options are how a run is executed; none of them changes its numbers.
type Options struct {
	// Dir, if set, is the run's directory (see the package doc): run.json, metrics.csv
	// (rewritten after each evaluation) and checkpoint/ (saved every CheckpointEvery steps, at
	// the end and when Stop closes). A directory that holds a run is refused unless Resume or
	// Force is set.
	Dir string
	// CheckpointEvery saves a checkpoint every N steps (0: only at the end and on Stop).
	CheckpointEvery int
	// Resume continues the run in Dir from its newest readable checkpoint (from step 0 if it has
	// none). The Spec must equal the one in Dir's run.json, except the Extensible keys, which may
	// only lengthen the run.
	Resume bool
	// Force replaces the run Dir holds (its run.json, metrics.csv and checkpoints).
	Force bool
	// Stop, if not nil, asks the run to end early when closed: it finishes the current step,
	// saves a checkpoint (with Dir) and returns ErrInterrupted.
	Stop <-chan struct{}
	// TimeLimit, if > 0, ends the run at the first step at which its training time since the end
	// of its first step (the seconds column, evaluations and checkpoints excluded; the first step
	// is not counted because it includes compiling the graph) reaches TimeLimit, with an
	// evaluation (and a checkpoint, with Dir) there; Result.TimedOut says so. For comparisons at
	// equal wall-clock: where such a run ends depends on the machine, so its numbers are not
	// reproducible. Bound the run's length (Epochs, MaxSteps) near what the limit allows: GoMLX's
	// training loop allocates 8 bytes per step of the whole run up front.
	TimeLimit time.Duration
	// EvalAt, if not nil, adds an evaluation after each step for which it returns true, given
	// the rows so far (never empty: the row of step 0, or of the resumed checkpoint, comes
	// first). A deterministic EvalAt keeps a resumed run's rows those of an uninterrupted one.
	EvalAt func(step int, rows []Row) bool
	// Until, if not nil, ends the run after the first evaluation whose row it accepts, with a
	// checkpoint (with Dir); Result.Reached says so.
	Until func(Row) bool
	// Progress shows GoMLX's progress bar (on stdout, or in the notebook).
	Progress bool
	// Report, if not nil, receives the run's state about once a second and after its last step
	// (Done): for a progress line that a notebook updates in place (nb.ProgressLine).
	Report func(Progress)
	// Log receives status lines (resume point, stall warnings). If nil, none.
	Log io.Writer
	// StallAfter: if no step finishes for this long, Log gets a warning, again every StallAfter
	// (the pure-Go backend can deadlock, see DESIGN.md). If 0, 2 minutes.
	StallAfter time.Duration
}

// Spec.DType's values; DTypeFloat32 is the default.
const (
	DTypeFloat32 = "float32"
	DTypeFloat64 = "float64"
)

// GoMLXDType is the dtype Spec.DType names (Float32 for an empty or unknown name; Check rejects
// unknown ones).
func (s Spec) GoMLXDType() dtypes.DType {
	if s.DType == DTypeFloat64 {
		return dtypes.Float64
	}
	return dtypes.Float32
}

// Extensible lists the Spec keys a resumed run may change: those that only set its length.
var Extensible = []string{"epochs", "max-steps"}

// WithDefaults returns s with its zero settings replaced by their defaults. An unknown
// optimizer keeps LR 0 (Check reports it).
func (s Spec) WithDefaults() Spec {
	s.Model = cmp.Or(s.Model, "cnn")
	s.Optimizer = cmp.Or(s.Optimizer, "adam")
	if o, err := LookupOptimizer(s.Optimizer); err == nil {
		if s.LR == 0 {
			s.LR = o.DefaultLR
		}
		if o.Method != 0 {
			s = s.withHyper(s.hyper().WithDefaults(o.Method))
		}
		switch o.Name {
		case "kfac":
			s.Lambda = cmp.Or(s.Lambda, precond.DefaultKFACDamping)
			s.StatsEvery = cmp.Or(s.StatsEvery, precond.DefaultKFACStatsEvery)
			s.InvEvery = cmp.Or(s.InvEvery, precond.DefaultKFACInvEvery)
			s.StatsDecay = cmp.Or(s.StatsDecay, precond.DefaultKFACDecay)
			s.KLClip = cmp.Or(s.KLClip, precond.DefaultKFACKLClip)
			s.Momentum = cmp.Or(s.Momentum, precond.DefaultKFACMomentum)
			s.Fisher = cmp.Or(s.Fisher, precond.Sampled.String())
		case "shampoo":
			s.InvEvery = cmp.Or(s.InvEvery, precond.DefaultShampooRootEvery)
			s.Block = cmp.Or(s.Block, precond.DefaultShampooBlock)
			s.Graft = cmp.Or(s.Graft, precond.GraftAdam.String())
			s.Beta1 = cmp.Or(s.Beta1, precond.DefaultShampooBeta1)
			s.Beta2 = cmp.Or(s.Beta2, precond.DefaultShampooBeta2)
			s.Eps = cmp.Or(s.Eps, precond.DefaultShampooEps)
		}
		switch o.Pairs {
		case lbfgs.MultiBatch:
			s.Overlap = cmp.Or(s.Overlap, lbfgs.DefaultOverlap)
		case lbfgs.SQN:
			s.Every = cmp.Or(s.Every, lbfgs.DefaultEvery)
			s.HessianBatch = cmp.Or(s.HessianBatch, lbfgs.DefaultHessianBatch)
		}
	}
	s.Epochs = cmp.Or(s.Epochs, 1)
	s.Batch = cmp.Or(s.Batch, 128)
	s.Inner = cmp.Or(s.Inner, 1)
	s.M = cmp.Or(s.M, lbfgs.DefaultM)
	s.DType = cmp.Or(s.DType, DTypeFloat32)
	return s
}

// SettingError is a bad, or conflicting, run setting. Key is its Spec JSON key (qnlab mnist's
// flag name), or "out", "checkpoint-every", "resume" or "force" for the Options.
type SettingError struct {
	Key     string
	Value   any
	Problem string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("runs: %s %v: %s", e.Key, e.Value, e.Problem)
}

// Check validates s (defaults filled in) against data (nil: sizes not checked); the error, a
// *SettingError, names the first bad setting.
func (s Spec) Check(data *models.MNIST) error {
	s = s.WithDefaults()
	bad := func(key string, v any, problem string) error {
		return &SettingError{Key: key, Value: v, Problem: problem}
	}
	if _, err := models.ByName(s.Model); err != nil {
		return bad("model", s.Model, "unknown model: want "+strings.Join(models.Names(), " or "))
	}
	if _, err := LookupOptimizer(s.Optimizer); err != nil {
		return bad("opt", s.Optimizer, "unknown optimizer: want "+OptimizerNames())
	}
	opt, _ := LookupOptimizer(s.Optimizer)
	switch {
	case opt.DefaultLR == 0 && s.LR != 0:
		return bad("lr", s.LR, s.Optimizer+" has no learning rate")
	case opt.DefaultLR != 0 && (!(s.LR > 0) || math.IsInf(s.LR, 0)):
		return bad("lr", s.LR, "the learning rate must be finite and > 0")
	}
	if opt.Method == 0 && s.Clip != 0 {
		return bad("clip", s.Clip, s.Optimizer+" does not clip gradients")
	}
	for _, key := range opt.Keys {
		if v, ok := s.hyper().Get(key); ok {
			if problem := firstorder.ParamProblem(key, v); problem != "" {
				return bad(key, v, problem)
			}
		}
	}
	if opt.Pairs != 0 {
		if s.Inner != 1 {
			return bad("inner", s.Inner, s.Optimizer+" takes one step per batch")
		}
		if s.FixedN != 0 {
			return bad("fixed", s.FixedN, s.Optimizer+" trains on mini-batches; use lbfgs for a fixed sample")
		}
		if _, err := opt.New(s); err != nil {
			return s.constructorError(err, "lbfgs: ", []errorWord{{"overlap", "overlap", s.Overlap}, {"interval", "every", s.Every},
				{"Hessian batch", "hbatch", s.HessianBatch}, {"scaled curvature", "curv-eps", s.CurvEps}, {"Armijo", "armijo", s.Armijo},
				{"momentum", "momentum", s.Momentum}, {"batch size", "batch", s.Batch}, {"history", "m", s.M}})
		}
	}
	if opt.Name == "kfac" || opt.Name == "shampoo" {
		if _, err := opt.New(s); err != nil {
			return s.constructorError(err, "precond: ", []errorWord{{"learning rate", "lr", s.LR}, {"momentum", "momentum", s.Momentum},
				{"damping", "lambda", s.Lambda}, {"statistics decay", "stats-decay", s.StatsDecay}, {"KL clip", "kl-clip", s.KLClip},
				{"statistics interval", "stats-every", s.StatsEvery}, {"refresh interval", "inv-every", s.InvEvery},
				{"Fisher", "fisher", s.Fisher}, {"betas", "beta1", s.Beta1}, {"epsilon", "eps", s.Eps},
				{"block size", "block", s.Block}, {"grafting", "graft", s.Graft}})
		}
	}
	if s.Gamma != lbfgs.GammaNewest && s.Gamma != lbfgs.GammaPaper {
		return bad("gamma", s.Gamma, "unknown γ rule: want newest or paper")
	}
	if s.DType != DTypeFloat32 && s.DType != DTypeFloat64 {
		return bad("dtype", s.DType, "want float32 or float64")
	}
	for _, v := range []struct {
		key      string
		value, n int
	}{{"epochs", s.Epochs, 1}, {"batch", s.Batch, 1}, {"inner", s.Inner, 1}, {"m", s.M, 1}, {"fixed", s.FixedN, 0},
		{"max-steps", s.MaxSteps, 0}, {"eval-every", s.EvalEvery, 0}, {"eval-n", s.EvalN, 0}} {
		if v.value < v.n {
			return bad(v.key, v.value, fmt.Sprintf("must be ≥ %d", v.n))
		}
	}
	if data != nil && data.Train != nil && data.Test != nil {
		if s.FixedN > data.Train.N {
			return bad("fixed", s.FixedN, fmt.Sprintf("the training set has %d images", data.Train.N))
		}
		if s.FixedN == 0 && s.Batch > data.Train.N {
			return bad("batch", s.Batch, fmt.Sprintf("the training set has %d images", data.Train.N))
		}
		if s.EvalN > data.Test.N {
			return bad("eval-n", s.EvalN, fmt.Sprintf("the test set has %d images", data.Test.N))
		}
	}
	if steps := float64(s.Epochs) * float64(s.Inner) * float64(s.batches(data)); steps > math.MaxInt32 {
		return bad("epochs", s.Epochs, fmt.Sprintf("%.3g steps in all: more than a run counts (2³¹)", steps))
	}
	return nil
}

// errorWord maps a word of an optimizer constructor's error to the setting (key, value) it is
// about.
type errorWord struct {
	word, key string
	value     any
}

// constructorError turns an optimizer constructor's error into a *SettingError naming the first
// setting whose word the message contains (else "opt"), without the package prefix.
func (s Spec) constructorError(err error, prefix string, words []errorWord) error {
	key, value := "opt", any(s.Optimizer)
	for _, w := range words {
		if strings.Contains(err.Error(), w.word) {
			key, value = w.key, w.value
			break
		}
	}
	return &SettingError{Key: key, Value: value, Problem: strings.TrimPrefix(err.Error(), prefix)}
}

// hyper returns s's first-order hyperparameters.
func (s Spec) hyper() firstorder.Hyper {
	return firstorder.Hyper{LR: s.LR, Momentum: s.Momentum, Decay: s.Decay, Beta1: s.Beta1, Beta2: s.Beta2, Eps: s.Eps, Clip: s.Clip}
}

// withHyper returns s with h's hyperparameters.
func (s Spec) withHyper(h firstorder.Hyper) Spec {
	s.LR, s.Momentum, s.Decay, s.Beta1, s.Beta2, s.Eps, s.Clip = h.LR, h.Momentum, h.Decay, h.Beta1, h.Beta2, h.Eps, h.Clip
	return s
}

// batches is the number of batches per epoch (1 if data is not known).
func (s Spec) batches(data *models.MNIST) int {
	if s.FixedN > 0 || data == nil || data.Train == nil {
		return 1
	}
	return (data.Train.N + s.Batch - 1) / s.Batch
}

// check validates the options.
func (o Options) check() error {
	bad := func(key string, v any, problem string) error {
		return &SettingError{Key: key, Value: v, Problem: problem}
	}
	switch {
	case o.TimeLimit < 0:
		return bad("time-limit", o.TimeLimit, "must be ≥ 0")
	case o.CheckpointEvery < 0:
		return bad("checkpoint-every", o.CheckpointEvery, "must be ≥ 0")
	case o.Resume && o.Dir == "":
		return bad("resume", true, "resume needs the run's directory (-out)")
	case o.Resume && o.Force:
		return bad("force", true, "-force replaces a run, -resume continues it: give one")
	}
	return nil
}

// Difference is one setting on which two Specs differ: A is the receiver's value, B the
// other's, as JSON text without quotes.
type Difference struct{ Key, A, B string }

// Differences returns the settings (JSON keys) on which s and t differ, in field order.
func (s Spec) Differences(t Spec) []Difference {
	a, b := s.fields(), t.fields()
	var out []Difference
	for i := range a {
		if a[i].value != b[i].value {
			out = append(out, Difference{Key: a[i].key, A: a[i].value, B: b[i].value})
		}
	}
	return out
}

type field struct{ key, value string }

// fields lists s's JSON keys and values in field order.
func (s Spec) fields() []field {
	data, err := json.Marshal(s)
	if err != nil {
		return []field{{"gamma", fmt.Sprint(s.Gamma)}} // only an invalid γ rule fails to marshal
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []field
	_, _ = dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		_ = dec.Decode(&v)
		out = append(out, field{k.(string), strings.Trim(string(v), `"`)})
	}
	return out
}
