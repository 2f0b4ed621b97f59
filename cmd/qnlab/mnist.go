package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"qnlab/pkg/backend"
	"qnlab/pkg/firstorder"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
	"qnlab/pkg/precond"
	"qnlab/pkg/runs"
)

func init() {
	register("mnist", "train the MNIST CNN or MLP with sgd, adam, lbfgs (the seed paper's Figures 3–5), the lecture's methods or a stochastic L-BFGS", runMNIST)
}

// mnistOutput is the JSON line printed last.
type mnistOutput struct {
	Opt          string  `json:"opt"`
	Epochs       float64 `json:"epochs"`
	Steps        int     `json:"steps"`
	Seconds      float64 `json:"seconds"`
	TrainLoss    float64 `json:"train_loss"`
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	// RejectedPairs and NonFiniteSteps are L-BFGS's counters (0 for sgd and adam).
	RejectedPairs  int `json:"rejected_pairs"`
	NonFiniteSteps int `json:"nonfinite_steps"`
}

func runMNIST(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mnist", stderr)
	var spec runs.Spec
	var opts runs.Options
	fs.StringVar(&spec.Model, "model", "cnn", "model: "+strings.Join(models.Names(), " or "))
	fs.StringVar(&spec.Optimizer, "opt", "adam", "optimizer: "+runs.OptimizerNames())
	fs.Float64Var(&spec.LR, "lr", 0, "learning rate (0: the optimizer's default, "+defaultLRs()+")")
	fs.IntVar(&spec.Inner, "inner", 1, "optimizer steps on each batch (the paper's L-BFGS-10: 10)")
	fs.IntVar(&spec.Epochs, "epochs", 1, "passes over the training data (with -fixed: full-batch steps)")
	fs.IntVar(&spec.Batch, "batch", 128, "batch size")
	fs.IntVar(&spec.FixedN, "fixed", 0, "if > 0, train on the first N training images as one batch")
	fs.IntVar(&spec.M, "m", lbfgs.DefaultM, "L-BFGS history size")
	fs.Float64Var(&spec.Momentum, "momentum", 0, hyperHelp("momentum", "γ of")+"; β of the gradient average of -opt olbfgs, mblbfgs, sqn (0: none); μ of -opt kfac (0: 0.9)")
	fs.Float64Var(&spec.Overlap, "overlap", 0, fmt.Sprintf("-opt mblbfgs: the fraction of a batch consecutive batches share (0: %g)", lbfgs.DefaultOverlap))
	fs.IntVar(&spec.Every, "every", 0, fmt.Sprintf("-opt sqn: steps between curvature pairs, L (0: %d)", lbfgs.DefaultEvery))
	fs.IntVar(&spec.HessianBatch, "hbatch", 0, fmt.Sprintf("-opt sqn: examples of the Hessian-vector products, b_H (0: %d)", lbfgs.DefaultHessianBatch))
	fs.BoolVar(&spec.Damping, "damping", false, "-opt olbfgs, mblbfgs, sqn: Powell-damp pairs with sᵀy < 0.2·sᵀBs")
	fs.Float64Var(&spec.CurvEps, "curv-eps", 0, "-opt olbfgs, mblbfgs, sqn: keep a pair only if yᵀs > ε·sᵀBs (0: the relative test yᵀs > 1e-8·‖s‖‖y‖)")
	fs.BoolVar(&spec.DiagH0, "diag-h0", false, "-opt olbfgs, mblbfgs, sqn: H_0 = Adam's diagonal 1/(√v̂ + ε) instead of γ·I (an Adam-sized -lr)")
	fs.IntVar(&spec.Armijo, "armijo", 0, "-opt olbfgs, mblbfgs, sqn: Armijo backtracking on the step's batch with this many trial steps lr, lr/2, … (0: fixed step)")
	fs.Float64Var(&spec.Lambda, "lambda", 0, fmt.Sprintf("-opt kfac: Tikhonov damping γ, factored between A and G (0: %g)", precond.DefaultKFACDamping))
	fs.IntVar(&spec.StatsEvery, "stats-every", 0, fmt.Sprintf("-opt kfac: steps between updates of the factors A, G (0: %d)", precond.DefaultKFACStatsEvery))
	fs.IntVar(&spec.InvEvery, "inv-every", 0, fmt.Sprintf("-opt kfac, shampoo: steps between refreshes of the inverses / inverse roots (0: %d, %d)",
		precond.DefaultKFACInvEvery, precond.DefaultShampooRootEvery))
	fs.Float64Var(&spec.StatsDecay, "stats-decay", 0, fmt.Sprintf("-opt kfac: decay of the factors' running averages (0: %g)", precond.DefaultKFACDecay))
	fs.Float64Var(&spec.KLClip, "kl-clip", 0, fmt.Sprintf("-opt kfac: KL clip κ of the step (0: %g; < 0: none)", precond.DefaultKFACKLClip))
	fs.StringVar(&spec.Fisher, "fisher", "", "-opt kfac: the G factor's estimator: sampled (the default), empirical or exact")
	fs.IntVar(&spec.Block, "block", 0, fmt.Sprintf("-opt shampoo: largest side of a preconditioned block (0: %d)", precond.DefaultShampooBlock))
	fs.StringVar(&spec.Graft, "graft", "", "-opt shampoo: the step norm grafted onto Shampoo's direction: adam (the default) or sgd")
	fs.Float64Var(&spec.Decay, "decay", 0, hyperHelp("decay", "γ of"))
	fs.Float64Var(&spec.Beta1, "beta1", 0, hyperHelp("beta1", "β1 of")+"; -opt shampoo: 0.9")
	fs.Float64Var(&spec.Beta2, "beta2", 0, hyperHelp("beta2", "β2 of")+"; -opt shampoo: 0.999")
	fs.Float64Var(&spec.Eps, "eps", 0, hyperHelp("eps", "ε of")+"; -opt shampoo: 1e-12, added before the roots")
	fs.Float64Var(&spec.Clip, "clip", 0, "if > 0, clip the gradient to this global norm (every optimizer but lbfgs)")
	fs.TextVar(&spec.Gamma, "gamma", lbfgs.GammaNewest, "L-BFGS γ: newest (correct) or paper (the seed code's slip)")
	ls := fs.String("linesearch", "fixed", "L-BFGS step: fixed (the paper's lr·p)")
	fs.Uint64Var(&spec.Seed, "seed", 1, "seed of the initial parameters and the batch order")
	fs.StringVar(&spec.DType, "dtype", runs.DTypeFloat32, "dtype of the parameters, the data and the optimizer's state: float32 or float64")
	fs.IntVar(&spec.EvalEvery, "eval-every", 0, "evaluate on the test set every N steps (0: at the start and the end)")
	fs.IntVar(&spec.EvalN, "eval-n", 0, "evaluate on the first N test images (0: all 10,000)")
	fs.IntVar(&spec.MaxSteps, "max-steps", 0, "stop after N optimizer steps in all (0: all epochs)")
	fs.StringVar(&opts.Dir, "out", "", "the run's directory: run.json, metrics.csv, checkpoint/ (refused if it holds a run, unless -resume or -force)")
	fs.IntVar(&opts.CheckpointEvery, "checkpoint-every", 0, "save a checkpoint every N steps (with -out; always at the end and on Ctrl-C)")
	fs.BoolVar(&opts.Resume, "resume", false, "continue the run in -out from its newest checkpoint, with its settings (only -epochs and -max-steps may change)")
	fs.BoolVar(&opts.Force, "force", false, "replace the run that -out holds")
	fs.BoolVar(&opts.Progress, "progress", true, "show a progress bar")
	dataDir := fs.String("mnist", "", "directory with the four MNIST IDX files (default: $"+models.EnvMNIST+" or the GoMNIST module)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab mnist [flags]   (JSON result line last on stdout)")
		fmt.Fprintln(stderr, "Ctrl-C or SIGTERM: the current step finishes, a checkpoint is saved (with -out) and qnlab exits")
		fmt.Fprintln(stderr, "with 130 (143 for SIGTERM); continue with -resume. A second Ctrl-C exits at once (files stay whole).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *ls != "fixed" {
		return badInput("-linesearch %q: training supports only fixed (the paper's step); armijo and wolfe are for qnlab minimize", *ls)
	}
	// From here on Ctrl-C stops the run cleanly (Train checks opts.Stop before it starts, too).
	stop, signalled, release := stopOnSignal(stderr)
	defer release()
	opts.Stop = stop
	for name, v := range map[string]int{"inner": spec.Inner, "epochs": spec.Epochs, "batch": spec.Batch, "m": spec.M} {
		if v < 1 { // 0 would mean "the default" to the package
			return badInput("-%s %d: must be ≥ 1", name, v)
		}
	}
	var err error
	if opts.Resume {
		if spec, err = resumeSpec(spec, opts, set); err != nil {
			return err
		}
	} else if err := checkKeys(spec, set); err != nil {
		return err
	}
	data, err := loadMNIST(*dataDir)
	if err != nil {
		return err
	}
	if err := spec.Check(data); err != nil {
		return settingError(err)
	}
	if err := checkMemory("this training run", mnistMemory(spec.WithDefaults())); err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	opts.Log = stderr
	fmt.Fprintln(stderr, "qnlab mnist:", backend.Describe(b))
	res, err := runs.Train(b, data, spec, opts)
	if err != nil {
		var se *runs.SettingError
		switch {
		case errors.As(err, &se):
			return settingError(err)
		case errors.Is(err, runs.ErrInterrupted):
			sig := signalled()
			if res == nil || res.Steps == 0 {
				return exitError{128 + int(sig), fmt.Errorf("%v before the first step: nothing to save", sig)}
			}
			where := "nothing saved (no -out)"
			if opts.Dir != "" {
				where = fmt.Sprintf("checkpoint saved; continue with: qnlab mnist -out %s -resume", opts.Dir)
			}
			return exitError{128 + int(sig), fmt.Errorf("%v at step %d: %s", sig, res.Steps, where)}
		case res == nil:
			return usageError{err}
		}
		return err
	}
	last := res.Final()
	out, err := json.Marshal(mnistOutput{Opt: res.Spec.Optimizer, Epochs: last.Epoch, Steps: res.Steps, Seconds: last.Seconds,
		TrainLoss: last.TrainLoss, TestLoss: last.TestLoss, TestAccuracy: last.TestAccur,
		RejectedPairs: res.Counters.Rejected, NonFiniteSteps: res.Counters.NonFinite})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// loadMNIST loads the MNIST files in dir (the -mnist flag), or in the default directory if dir
// is empty; files that do not load are bad input.
func loadMNIST(dir string) (*models.MNIST, error) {
	if dir == "" {
		var err error
		if dir, err = models.DefaultMNISTDir(); err != nil {
			return nil, err
		}
	}
	data, err := models.LoadMNIST(dir)
	if err != nil {
		return nil, usageError{err}
	}
	return data, nil
}

// defaultLRs lists the registry's default learning rates: "0.01 for sgd, …".
func defaultLRs() string {
	var parts []string
	for _, o := range runs.Optimizers() {
		if o.DefaultLR == 0 {
			continue // adadelta has no learning rate
		}
		parts = append(parts, fmt.Sprintf("%g for %s", o.DefaultLR, o.Name))
	}
	return strings.Join(parts, ", ")
}

// hyperHelp is the help text of a first-order hyperparameter flag: which optimizers read it and
// their defaults, e.g. "γ of -opt momentum, nesterov (0: their defaults 0.9, 0.9)".
func hyperHelp(key, what string) string {
	var names, defaults []string
	for _, o := range runs.Optimizers() {
		if o.Method != 0 && slices.Contains(o.Keys, key) {
			v, _ := firstorder.Defaults(o.Method).Get(key)
			names, defaults = append(names, o.Name), append(defaults, fmt.Sprintf("%g", v))
		}
	}
	return fmt.Sprintf("%s -opt %s (0: the defaults %s)", what, strings.Join(names, ", "), strings.Join(defaults, ", "))
}

// checkKeys refuses a flag given for an optimizer that does not read it (the registry's Keys),
// e.g. -m with -opt adam.
func checkKeys(spec runs.Spec, set map[string]bool) error {
	opt, err := runs.LookupOptimizer(cmp.Or(spec.Optimizer, "adam"))
	if err != nil {
		return badInput("-opt %s: unknown optimizer: want %s", spec.Optimizer, runs.OptimizerNames())
	}
	for _, o := range runs.Optimizers() {
		for _, key := range o.Keys {
			if set[key] && !slices.Contains(opt.Keys, key) {
				return badInput("-%s applies to -opt %s, not to -opt %s", key, o.Name, opt.Name)
			}
		}
	}
	return nil
}

// settingError renders a *runs.SettingError as a bad flag (exit 2).
func settingError(err error) error {
	var se *runs.SettingError
	if errors.As(err, &se) {
		return badInput("-%s %v: %s", se.Key, se.Value, se.Problem)
	}
	return usageError{err}
}

// resumeSpec takes the settings of the run in opts.Dir (its run.json) for every flag not given;
// a given flag must agree with the run, except -epochs and -max-steps (its length).
func resumeSpec(spec runs.Spec, opts runs.Options, set map[string]bool) (runs.Spec, error) {
	if opts.Dir == "" {
		return spec, badInput("-resume needs -out, the run's directory")
	}
	if opts.Force {
		return spec, badInput("-resume and -force: -force replaces a run, -resume continues it; give one")
	}
	saved, err := runs.ReadSpec(opts.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return spec, badInput("-out %s: no run to resume there (no run.json); start one without -resume", opts.Dir)
		}
		return spec, badInput("-out %s: %v", opts.Dir, err)
	}
	for _, d := range saved.Differences(spec.WithDefaults()) {
		if set[d.Key] && !slices.Contains(runs.Extensible, d.Key) {
			return spec, badInput("-%s %s: the run in %s has -%s %s; -resume keeps a run's settings (only -epochs and -max-steps may change)",
				d.Key, d.B, opts.Dir, d.Key, d.A)
		}
	}
	length := spec
	spec = saved
	if set["epochs"] {
		spec.Epochs = length.Epochs
	}
	if set["max-steps"] {
		spec.MaxSteps = length.MaxSteps
	}
	return spec, nil
}

// stopOnSignal turns the first SIGINT or SIGTERM into a closed stop channel (the run finishes
// its step and saves a checkpoint) and a second one into an immediate exit with 128 + signal
// (safe: every file of a run is written atomically). signalled returns the first signal;
// release restores the default handling.
func stopOnSignal(stderr io.Writer) (stop <-chan struct{}, signalled func() syscall.Signal, release func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	stopCh := make(chan struct{})
	done := make(chan struct{})
	var mu sync.Mutex
	var first syscall.Signal = syscall.SIGINT
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				n++
				if n == 1 {
					mu.Lock()
					first = sig
					mu.Unlock()
					fmt.Fprintf(stderr, "\nqnlab mnist: %v: finishing the current step and saving a checkpoint (again to exit at once)\n", sig)
					close(stopCh)
					continue
				}
				fmt.Fprintf(stderr, "\nqnlab mnist: %v again: exiting now; resume from the last checkpoint with -resume\n", sig)
				os.Exit(128 + int(sig))
			}
		}
	}()
	return stopCh, func() syscall.Signal {
			mu.Lock()
			defer mu.Unlock()
			return first
		}, func() {
			signal.Stop(ch)
			close(done)
		}
}

// mnistMemory estimates a training run's peak memory in bytes: a base (data, model, Adam's
// state, the evaluation batch of 1000), a cost per image of a training batch, and for L-BFGS a
// cost per history slot (the pair s, y and the two-loop's temporaries: ≈ 20 bytes a parameter).
// Fitted to peak RSS (/usr/bin/time, 3 steps, -eval-n 1000, 2026-12-02), with 25% margin:
//
//	cnn adam  batch 128: 517 MB, 512: 709 MB, fixed 2048: 1310 MB   → 453 MB + 0.42–0.50 MB/image
//	cnn lbfgs m 10: 565 MB, 50: 734 MB, 100: 876 MB (batch 128)     → 4.0–4.2 MB/slot
//	mlp adam  batch 128: 175 MB, 4096: 246 MB                       → 170 MB + 18 KB/image
//	mlp lbfgs m 200: 450 MB (batch 128)                             → 1.4 MB/slot
func mnistMemory(c runs.Spec) float64 {
	base, perImage, perSlot := 460e6, 0.5e6, 4.2e6 // cnn
	if c.Model == "mlp" {
		base, perImage, perSlot = 175e6, 18e3, 1.4e6
	}
	images := float64(max(c.Batch, 128))
	if c.FixedN > 0 {
		images = float64(c.FixedN)
	}
	opt, _ := runs.LookupOptimizer(c.Optimizer)
	switch opt.Pairs {
	case lbfgs.OLBFGS: // a window of two batches
		images *= 2
	case lbfgs.SQN: // the Hessian batch, through a double backward pass (counted twice)
		images += 2 * float64(c.HessianBatch)
	}
	need := base + perImage*images
	if c.Optimizer == "lbfgs" || opt.Pairs != 0 {
		need += perSlot * float64(c.M+1) // + the stochastic methods' stored gradients and steps
	}
	if c.DType == runs.DTypeFloat64 {
		need *= 2 // every tensor twice as large (an upper bound: the base includes the runtime)
	}
	// GoMLX's training loop allocates 8 bytes per step of the run up front
	// (Loop.TrainStepDurations): 17 GB for the 2³¹ steps Spec.Check allows.
	steps := float64(c.Epochs) * float64(c.Inner)
	if c.FixedN == 0 {
		steps *= math.Ceil(60000 / float64(max(c.Batch, 1)))
	}
	if opt.Pairs == lbfgs.MultiBatch { // windows advance by the batch less the overlap
		steps /= max(1-c.Overlap, 0.5)
	}
	if c.MaxSteps > 0 {
		steps = min(steps, float64(c.MaxSteps))
	}
	need += 8 * steps
	return 1.25 * need
}
