package models

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/gomlx/gomlx/ui/commandline"

	"qnlab/pkg/lbfgs"
)

// RunConfig describes one training run. The zero value (plus a seed) trains the CNN for one
// epoch of batches of 128 with Adam.
type RunConfig struct {
	// Model is "cnn" (SimpleCNN, the default) or "mlp".
	Model string
	// Optimizer is "adam" (the default), "sgd" (plain SGD: GoMLX's without its 1/√step decay) or
	// "lbfgs" (the seed paper's fixed-step L-BFGS, lbfgs.Optimizer).
	Optimizer string
	// LR is the learning rate. If 0: 0.001 for adam, 0.01 for sgd and lbfgs (the paper's).
	LR float64
	// Epochs is the number of passes over the data. If 0, it will be defaulted to 1. With FixedN,
	// an epoch is one (full-batch) batch.
	Epochs int
	// Batch is the batch size. If 0, it will be defaulted to 128. Ignored with FixedN.
	Batch int
	// Inner is the number of optimizer steps on each batch (the paper's L-BFGS-10: 10). If 0, 1.
	Inner int
	// FixedN > 0 trains on the first FixedN training images as one full batch (the paper's
	// fixed-sample experiment).
	FixedN int
	// M is the L-BFGS history size. If 0, it will be defaulted to 10.
	M int
	// Gamma is the L-BFGS γ rule (lbfgs.GammaNewest or lbfgs.GammaPaper).
	Gamma lbfgs.GammaRule
	// Seed seeds the initial parameters and the batch order: same seed, same numbers.
	Seed uint64
	// MaxSteps, if > 0, stops after this many optimizer steps in all (counting a resumed run's
	// earlier steps).
	MaxSteps int
	// EvalEvery adds a row (test loss and accuracy) every EvalEvery steps; there is always one
	// at step 0 and one at the end. If 0, only those two.
	EvalEvery int
	// EvalN evaluates on the first EvalN test images. If 0, on all 10,000.
	EvalN int
	// OutDir, if set, receives metrics.csv (the rows) and checkpoint/ (saved every
	// CheckpointEvery steps and at the end).
	OutDir string
	// CheckpointEvery saves a checkpoint every so many steps (0: only at the end).
	CheckpointEvery int
	// Resume continues the run saved in OutDir from its last checkpoint.
	Resume bool
	// Progress shows GoMLX's progress bar (on stdout, or in the notebook).
	Progress bool
	// Log receives status lines (which backend, resume point, stall warnings). If nil, none.
	Log io.Writer
	// StallAfter: if no step finishes for this long, Log gets a warning, again every StallAfter
	// (the pure-Go backend can deadlock, see DESIGN.md). If 0, it will be defaulted to 2 minutes.
	StallAfter time.Duration
}

// Row is one line of a run's metrics: after Step optimizer steps, at Epoch (fractional),
// Seconds of training (evaluation excluded), the loss of the last training batch, and the test
// loss and accuracy.
type Row struct {
	Step                           int
	Epoch, Seconds                 float64
	TrainLoss, TestLoss, TestAccur float64
}

// RunResult is a finished run: its configuration (with defaults filled in), its rows and the
// final numbers.
type RunResult struct {
	Config  RunConfig
	Steps   int
	Rows    []Row
	Backend string
	// Store holds the trained variables (and the optimizer's state).
	Store *model.Store
}

// Final returns the last row.
func (r *RunResult) Final() Row { return r.Rows[len(r.Rows)-1] }

// withDefaults validates c and fills in defaults.
func (c RunConfig) withDefaults() (RunConfig, error) {
	if c.Model == "" {
		c.Model = "cnn"
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if lr, known := map[string]float64{"adam": 0.001, "sgd": 0.01, "lbfgs": lbfgs.DefaultLearningRate}[c.Optimizer]; known && c.LR == 0 {
		c.LR = lr
	}
	if c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.Batch == 0 {
		c.Batch = 128
	}
	if c.Inner == 0 {
		c.Inner = 1
	}
	if c.M == 0 {
		c.M = lbfgs.DefaultM
	}
	if c.StallAfter == 0 {
		c.StallAfter = 2 * time.Minute
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("models: "+format, a...)) }
	if _, ok := modelFns[c.Model]; !ok {
		bad("unknown model %q: want cnn or mlp", c.Model)
	}
	if c.Optimizer != "adam" && c.Optimizer != "sgd" && c.Optimizer != "lbfgs" {
		bad("unknown optimizer %q: want sgd, adam or lbfgs", c.Optimizer)
	}
	if c.LR != 0 && !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("learning rate %g must be finite and > 0", c.LR)
	}
	if c.Epochs < 0 || c.Batch < 1 || c.Inner < 1 || c.FixedN < 0 || c.M < 1 || c.MaxSteps < 0 ||
		c.EvalEvery < 0 || c.EvalN < 0 || c.CheckpointEvery < 0 {
		bad("epochs=%d, batch=%d, inner=%d, fixed=%d, m=%d, max steps=%d, eval every=%d, eval n=%d, checkpoint every=%d: none may be negative, and batch, inner and m must be ≥ 1",
			c.Epochs, c.Batch, c.Inner, c.FixedN, c.M, c.MaxSteps, c.EvalEvery, c.EvalN, c.CheckpointEvery)
	}
	if c.Resume && c.OutDir == "" {
		bad("resume needs the run's output directory")
	}
	return c, errors.Join(errs...)
}

var modelFns = map[string]ModelFn{"cnn": SimpleCNN, "mlp": MLP}

func (c RunConfig) optimizer() (optimizer.Interface, error) {
	switch c.Optimizer {
	case "sgd":
		return optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(c.LR).Done(), nil
	case "adam":
		return optimizer.Adam().LearningRate(c.LR).Done(), nil
	default:
		return lbfgs.Optimizer().M(c.M).LearningRate(c.LR).Gamma(c.Gamma).Done()
	}
}

// stepData is the training stream as a train.Dataset: batch b of the run is batch b mod n of
// epoch b / n (n batches per epoch, Batcher's seeded permutations), and each batch is yielded
// Inner times in a row. Iter starts at global step next, so a resumed run sees the same data.
type stepData struct {
	b     *Batcher
	inner int
	next  int
}

func (d *stepData) Name() string { return d.b.Name() }

func (d *stepData) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for {
			bi := d.next / d.inner
			n := d.b.NumBatches()
			indices := d.b.EpochBatches(bi / n)[bi%n]
			images, labels := d.b.Tensors(indices)
			d.next++
			if !yield(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}}, nil) {
				return
			}
		}
	}
}

// paramSeconds is the store parameter that carries a run's training seconds in checkpoints.
const paramSeconds = "qnlab_train_seconds"

// Train runs c on data (LoadMNIST's) on backend b and returns its rows. Bad configuration,
// unreadable output or checkpoint files and a non-finite training loss are errors (the last
// one names the step).
func Train(b compute.Backend, data *MNIST, c RunConfig) (*RunResult, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	modelFn := modelFns[c.Model]
	opt, err := c.optimizer()
	if err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) {
		if c.Log != nil {
			fmt.Fprintf(c.Log, format+"\n", a...)
		}
	}

	batcher := &Batcher{Set: data.Train, BatchSize: c.Batch, Seed: c.Seed}
	if c.FixedN > 0 {
		batcher = FixedSample(data.Train, c.FixedN)
	}
	stepsPerEpoch := batcher.NumBatches() * c.Inner
	total := c.Epochs * stepsPerEpoch
	if c.MaxSteps > 0 {
		total = min(total, c.MaxSteps)
	}
	testSet := data.Test
	if c.EvalN > 0 {
		testSet = testSet.Head(c.EvalN)
	}

	store := NewStore(int64(c.Seed))
	res := &RunResult{Config: c, Backend: b.Name(), Store: store}
	var ckpt *checkpoint.Handler
	csvPath := ""
	if c.OutDir != "" {
		csvPath = filepath.Join(c.OutDir, "metrics.csv")
		dir := filepath.Join(c.OutDir, "checkpoint")
		if !c.Resume {
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("models: clearing %s: %w", dir, err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("models: %w", err)
		}
		cfg := checkpoint.Build(store).Dir(dir).Keep(2)
		if c.Resume {
			cfg = cfg.Immediate()
		}
		if ckpt, err = cfg.Done(); err != nil {
			return nil, fmt.Errorf("models: checkpoint in %s: %w", dir, err)
		}
	}
	trainer := train.NewTrainer(b, store, modelFn, TrainerLoss, opt, nil, nil)
	loop := train.NewLoop(trainer)
	start := 0
	secondsOffset := 0.0
	if c.Resume {
		start = int(optimizer.GetGlobalStep(store))
		if start == 0 {
			return nil, fmt.Errorf("models: -resume: no checkpoint in %s", filepath.Join(c.OutDir, "checkpoint"))
		}
		secondsOffset = model.GetParamOr(store.RootScope(), paramSeconds, 0.0)
		if res.Rows, err = readRows(csvPath, start); err != nil {
			return nil, err
		}
		logf("resuming at step %d (%.1f s of training) from %s", start, secondsOffset, c.OutDir)
	}

	evaluate := func(step int, trainLoss, seconds float64) error {
		m, err := Evaluate(b, store, modelFn, testSet, 1000, dtypes.Float32)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, Row{Step: step, Epoch: float64(step) / float64(stepsPerEpoch),
			Seconds: seconds, TrainLoss: trainLoss, TestLoss: m.Loss, TestAccur: m.Accuracy})
		return nil
	}
	if start == 0 {
		if err := evaluate(0, math.NaN(), 0); err != nil {
			return nil, err
		}
	}

	// Training time excludes evaluations and checkpoints: the clock pauses around them.
	var clockMu sync.Mutex
	trained := time.Duration(secondsOffset * float64(time.Second))
	var runningSince time.Time // zero while paused
	seconds := func() float64 {
		clockMu.Lock()
		defer clockMu.Unlock()
		if runningSince.IsZero() {
			return trained.Seconds()
		}
		return (trained + time.Since(runningSince)).Seconds()
	}
	pause := func() {
		clockMu.Lock()
		if !runningSince.IsZero() {
			trained += time.Since(runningSince)
			runningSince = time.Time{}
		}
		clockMu.Unlock()
	}
	resume := func() {
		clockMu.Lock()
		runningSince = time.Now()
		clockMu.Unlock()
	}
	save := func() error {
		if ckpt == nil {
			return nil
		}
		store.SetParam(paramSeconds, seconds())
		if err := ckpt.Save(); err != nil {
			return fmt.Errorf("models: saving checkpoint: %w", err)
		}
		return writeRows(csvPath, res.Rows)
	}

	resume() // the clock starts now, after the evaluation at step 0

	lastStep := make(chan int, 1)
	done := make(chan struct{})
	defer close(done)
	go watchStalls(lastStep, done, c.StallAfter, logf)

	loop.OnStep("qnlab", 0, func(loop *train.Loop, metrics []*tensors.Tensor) error {
		step := loop.LoopStep + 1 // steps completed
		loss := float64(tensors.ToScalar[float32](metrics[0]))
		select {
		case lastStep <- step:
		default:
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("models: step %d (%s, lr %g): the training loss is %g", step, c.Optimizer, c.LR, loss)
		}
		if (c.EvalEvery > 0 && step%c.EvalEvery == 0) || step == total {
			pause()
			err := evaluate(step, loss, seconds())
			if err == nil && (step == total || (c.CheckpointEvery > 0 && step%c.CheckpointEvery == 0)) {
				err = save()
			}
			resume()
			return err
		}
		if c.CheckpointEvery > 0 && step%c.CheckpointEvery == 0 {
			pause()
			err := save()
			resume()
			return err
		}
		return nil
	})
	if c.Progress {
		commandline.AttachProgressBar(loop)
	}
	logf("training %s with %s (lr %g, inner %d) for %d steps on %s", c.Model, c.Optimizer, c.LR, c.Inner, total, b.Name())
	if total > start {
		var metrics []*tensors.Tensor
		var runErr error
		panicErr := exceptions.TryCatch[error](func() {
			metrics, runErr = loop.RunSteps(&stepData{b: batcher, inner: c.Inner, next: start}, total-start)
		})
		for _, m := range metrics {
			m.MustFinalizeAll()
		}
		if err := errors.Join(panicErr, runErr); err != nil {
			_ = writeRows(csvPath, res.Rows)
			return res, err
		}
	}
	res.Steps = total
	return res, writeRows(csvPath, res.Rows)
}

// watchStalls warns through logf whenever no step has finished for stallAfter.
func watchStalls(lastStep <-chan int, done <-chan struct{}, stallAfter time.Duration, logf func(string, ...any)) {
	step, last := 0, time.Now()
	tick := time.NewTicker(min(stallAfter/4, 10*time.Second) + time.Millisecond)
	defer tick.Stop()
	warned := time.Time{}
	for {
		select {
		case <-done:
			return
		case step = <-lastStep:
			last = time.Now()
		case now := <-tick.C:
			if now.Sub(last) >= stallAfter && now.Sub(warned) >= stallAfter {
				logf("qnlab: WARNING: no training step has finished for %s (last finished: step %d); the backend may be deadlocked (DESIGN.md: the pure-Go backend's worker pool) — interrupt and rerun with -resume",
					now.Sub(last).Round(time.Second), step)
				warned = now
			}
		}
	}
}

var csvHeader = []string{"step", "epoch", "seconds", "train_loss", "test_loss", "test_accuracy"}

func writeRows(path string, rows []Row) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(csvHeader)
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{strconv.Itoa(r.Step), g(r.Epoch), g(r.Seconds), g(r.TrainLoss), g(r.TestLoss), g(r.TestAccur)})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("models: writing %s: %w", path, err)
	}
	return nil
}

// readRows reads a run's metrics.csv and keeps the rows up to step upTo (the checkpoint).
func readRows(path string, upTo int) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: -resume: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 || len(recs[0]) != len(csvHeader) {
		return nil, fmt.Errorf("models: -resume: %s is not a qnlab metrics file (%v)", path, err)
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var v [6]float64
		for j, s := range rec {
			if v[j], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("models: -resume: %s line %d: %q is not a number", path, i+2, s)
			}
		}
		if int(v[0]) <= upTo {
			rows = append(rows, Row{int(v[0]), v[1], v[2], v[3], v[4], v[5]})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Step < rows[j].Step })
	return rows, nil
}
