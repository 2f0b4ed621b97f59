package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
)

func init() {
	register("mnist", "train the MNIST CNN or MLP with sgd, adam or lbfgs (the seed paper's Figures 3–5)", runMNIST)
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
}

func runMNIST(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mnist", stderr)
	var c models.RunConfig
	fs.StringVar(&c.Model, "model", "cnn", "cnn or mlp")
	fs.StringVar(&c.Optimizer, "opt", "adam", "sgd, adam or lbfgs")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: 0.001 for adam, 0.01 for sgd and lbfgs)")
	fs.IntVar(&c.Inner, "inner", 1, "optimizer steps on each batch (the paper's L-BFGS-10: 10)")
	fs.IntVar(&c.Epochs, "epochs", 1, "passes over the training data (with -fixed: full-batch steps)")
	fs.IntVar(&c.Batch, "batch", 128, "batch size")
	fs.IntVar(&c.FixedN, "fixed", 0, "if > 0, train on the first N training images as one batch")
	fs.IntVar(&c.M, "m", lbfgs.DefaultM, "L-BFGS history size")
	gamma := fs.String("gamma", "newest", "L-BFGS γ: newest (correct) or paper (the seed code's slip)")
	ls := fs.String("linesearch", "fixed", "L-BFGS step: fixed (the paper's lr·p)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the initial parameters and the batch order")
	fs.IntVar(&c.EvalEvery, "eval-every", 0, "evaluate on the test set every N steps (0: at the start and the end)")
	fs.IntVar(&c.EvalN, "eval-n", 0, "evaluate on the first N test images (0: all 10,000)")
	fs.IntVar(&c.MaxSteps, "max-steps", 0, "stop after N optimizer steps in all (0: all epochs)")
	fs.StringVar(&c.OutDir, "out", "", "write metrics.csv and checkpoints here")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", 0, "save a checkpoint every N steps (with -out; always at the end)")
	fs.BoolVar(&c.Resume, "resume", false, "continue the run saved in -out from its last checkpoint")
	fs.BoolVar(&c.Progress, "progress", true, "show a progress bar")
	dataDir := fs.String("mnist", "", "directory with the four MNIST IDX files (default: $"+models.EnvMNIST+" or the GoMNIST module)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if c.Gamma, err = lbfgs.ParseGammaRule(*gamma); err != nil {
		return usageError{err}
	}
	if *ls != "fixed" {
		return badInput("-linesearch %q: training supports only fixed (the paper's step); armijo and wolfe are for qnlab minimize", *ls)
	}
	for name, v := range map[string]int{"-inner": c.Inner, "-epochs": c.Epochs, "-batch": c.Batch, "-m": c.M} {
		if v < 1 {
			return badInput("%s %d: must be ≥ 1", name, v)
		}
	}
	if *dataDir == "" {
		if *dataDir, err = models.DefaultMNISTDir(); err != nil {
			return err
		}
	}
	data, err := models.LoadMNIST(*dataDir)
	if err != nil {
		return usageError{err}
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	c.Log = stderr
	fmt.Fprintln(stderr, "qnlab mnist:", backend.Describe(b))
	if c.OutDir != "" {
		if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
			return err
		}
	}
	res, err := models.Train(b, data, c)
	if err != nil {
		if res == nil { // configuration errors come before any training
			return usageError{err}
		}
		return err
	}
	last := res.Final()
	out, err := json.Marshal(mnistOutput{Opt: res.Config.Optimizer, Epochs: last.Epoch, Steps: res.Steps, Seconds: last.Seconds,
		TrainLoss: last.TrainLoss, TestLoss: last.TestLoss, TestAccuracy: last.TestAccur})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
