package models

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/gomlx/gomlx/ui/commandline"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/runs"
)

// RunConfig describes one training run. The zero value (plus a seed) trains the CNN for one
// epoch of batches of 128 with Adam. Spec returns the part that decides the run's numbers.
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
	// OutDir, if set, is the run's directory (package runs): run.json (the Spec), metrics.csv
	// (the rows, rewritten after each evaluation) and checkpoint/ (saved every CheckpointEvery
	// steps, at the end and when Stop closes). A directory that already holds a run is refused
	// unless Resume or Force is set.
	OutDir string
	// CheckpointEvery saves a checkpoint every N steps (0: only at the end and on Stop).
	CheckpointEvery int
	// Resume continues the run in OutDir from its newest readable checkpoint (from step 0 if it
	// has none). The Spec must equal the one in OutDir's run.json, except Epochs and MaxSteps,
	// which may only extend the run.
	Resume bool
	// Force replaces the run OutDir holds (its run.json, metrics.csv and checkpoints).
	Force bool
	// Stop, if not nil, asks the run to end early when closed: it finishes the current step,
	// saves a checkpoint (with OutDir) and returns ErrInterrupted.
	Stop <-chan struct{}
	// Progress shows GoMLX's progress bar (on stdout, or in the notebook).
	Progress bool
	// Log receives status lines (which backend, resume point, stall warnings). If nil, none.
	Log io.Writer
	// StallAfter: if no step finishes for this long, Log gets a warning, again every StallAfter
	// (the pure-Go backend can deadlock, see DESIGN.md). If 0, it will be defaulted to 2 minutes.
	StallAfter time.Duration
}

// ErrInterrupted is Train's error when RunConfig.Stop closed before the run's end; the result
// holds the rows so far and, with OutDir, a checkpoint to resume from.
var ErrInterrupted = errors.New("models: interrupted")

// Spec is what a run trains and how: every setting that decides its numbers, with defaults
// filled in. It is saved as run.json in the run's directory; its JSON keys are qnlab mnist's
// flag names.
type Spec struct {
	Model     string  `json:"model"`
	Optimizer string  `json:"opt"`
	LR        float64 `json:"lr"`
	Inner     int     `json:"inner"`
	Epochs    int     `json:"epochs"`
	Batch     int     `json:"batch"`
	FixedN    int     `json:"fixed"`
	M         int     `json:"m"`
	Gamma     string  `json:"gamma"`
	Seed      uint64  `json:"seed"`
	EvalEvery int     `json:"eval-every"`
	EvalN     int     `json:"eval-n"`
	MaxSteps  int     `json:"max-steps"`
	// DType is the parameters' and data's dtype (float32: the only one Train uses today).
	DType string `json:"dtype"`
}

// Extensible lists the Spec keys a resumed run may change: those that only set its length.
var Extensible = []string{"epochs", "max-steps"}

// Spec returns c's specification with defaults filled in.
func (c RunConfig) Spec() Spec {
	c = c.defaults()
	return Spec{Model: c.Model, Optimizer: c.Optimizer, LR: c.LR, Inner: c.Inner, Epochs: c.Epochs, Batch: c.Batch,
		FixedN: c.FixedN, M: c.M, Gamma: c.Gamma.String(), Seed: c.Seed, EvalEvery: c.EvalEvery, EvalN: c.EvalN,
		MaxSteps: c.MaxSteps, DType: dtypes.Float32.String()}
}

// WithSpec returns c with the settings of s (a saved run's, to resume it).
func (c RunConfig) WithSpec(s Spec) (RunConfig, error) {
	gamma, err := lbfgs.ParseGammaRule(s.Gamma)
	if err != nil {
		return c, &SettingError{Key: "gamma", Value: s.Gamma, Problem: err.Error()}
	}
	if s.DType != dtypes.Float32.String() {
		return c, &SettingError{Key: "dtype", Value: s.DType, Problem: "this qnlab trains in float32 only"}
	}
	c.Model, c.Optimizer, c.LR, c.Inner, c.Epochs, c.Batch = s.Model, s.Optimizer, s.LR, s.Inner, s.Epochs, s.Batch
	c.FixedN, c.M, c.Gamma, c.Seed, c.EvalEvery, c.EvalN, c.MaxSteps = s.FixedN, s.M, gamma, s.Seed, s.EvalEvery, s.EvalN, s.MaxSteps
	return c, nil
}

// Differences returns the keys (JSON names) whose values differ between s and t, in field order,
// with each side's value as JSON text.
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

// Difference is one setting on which two Specs differ: A is the receiver's value, B the other's.
type Difference struct{ Key, A, B string }

type field struct{ key, value string }

// fields lists s's JSON keys and values in field order.
func (s Spec) fields() []field {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Spec has only strings and finite numbers
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
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

// SettingError is a bad, or conflicting, run setting. Key is its Spec JSON key (qnlab mnist's
// flag name) or "out", "checkpoint-every", "resume", "force" for the settings outside Spec.
type SettingError struct {
	Key     string
	Value   any
	Problem string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("models: %s %v: %s", e.Key, e.Value, e.Problem)
}

// runRecord is run.json: the Spec and where it ran.
type runRecord struct {
	Spec     Spec              `json:"spec"`
	Versions map[string]string `json:"versions"`
	Backend  string            `json:"backend"`
	Created  string            `json:"created"`
}

// ReadSpec returns the Spec of the run in directory dir (its run.json).
func ReadSpec(dir string) (Spec, error) {
	var r runRecord
	if err := runs.ReadJSON(filepath.Join(dir, runs.SpecFile), &r); err != nil {
		return Spec{}, fmt.Errorf("models: %w", err)
	}
	return r.Spec, nil
}

// versions returns the versions of qnlab (its VCS revision, if the build recorded one), GoMLX,
// its compute backends and Go, from the binary's build information.
func versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v["qnlab"] = info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			v["qnlab."+s.Key] = s.Value
		}
	}
	for _, d := range info.Deps {
		switch d.Path {
		case "github.com/gomlx/gomlx", "github.com/gomlx/compute":
			v[d.Path] = d.Version
		}
	}
	return v
}

// Row is one line of a run's metrics: after Step optimizer steps, at Epoch (fractional),
// Seconds of training (evaluation excluded), the loss of the last training batch, and the test
// loss and accuracy.
type Row struct {
	Step                           int
	Epoch, Seconds                 float64
	TrainLoss, TestLoss, TestAccur float64
}

// RunResult is a finished (or interrupted) run: its configuration (with defaults filled in),
// its rows and the final numbers.
type RunResult struct {
	Config RunConfig
	// Steps is the number of optimizer steps taken (a resumed run's earlier ones included).
	Steps   int
	Rows    []Row
	Backend string
	// Store holds the trained variables (and the optimizer's state).
	Store *model.Store
	// RejectedPairs and NonFiniteSteps are L-BFGS's counters (pairs rejected by the curvature
	// test or for non-finite values; steps not taken because the direction was not finite); 0
	// for SGD and Adam.
	RejectedPairs, NonFiniteSteps int
}

// Final returns the last row.
func (r *RunResult) Final() Row { return r.Rows[len(r.Rows)-1] }

// defaults fills in c's defaults.
func (c RunConfig) defaults() RunConfig {
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
	return c
}

// withDefaults fills in defaults and validates c against data (nil: not checked); the error,
// a *SettingError, names the first bad setting.
func (c RunConfig) withDefaults(data *MNIST) (RunConfig, error) {
	c = c.defaults()
	bad := func(key string, v any, problem string) (RunConfig, error) {
		return c, &SettingError{Key: key, Value: v, Problem: problem}
	}
	if _, ok := modelFns[c.Model]; !ok {
		return bad("model", c.Model, "unknown model: want cnn or mlp")
	}
	if c.Optimizer != "adam" && c.Optimizer != "sgd" && c.Optimizer != "lbfgs" {
		return bad("opt", c.Optimizer, "unknown optimizer: want sgd, adam or lbfgs")
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return bad("lr", c.LR, "the learning rate must be finite and > 0")
	}
	if c.Gamma != lbfgs.GammaNewest && c.Gamma != lbfgs.GammaPaper {
		return bad("gamma", c.Gamma, "unknown γ rule: want newest or paper")
	}
	for _, v := range []struct {
		key      string
		value, n int
	}{{"epochs", c.Epochs, 1}, {"batch", c.Batch, 1}, {"inner", c.Inner, 1}, {"m", c.M, 1}, {"fixed", c.FixedN, 0},
		{"max-steps", c.MaxSteps, 0}, {"eval-every", c.EvalEvery, 0}, {"eval-n", c.EvalN, 0}, {"checkpoint-every", c.CheckpointEvery, 0}} {
		if v.value < v.n {
			return bad(v.key, v.value, fmt.Sprintf("must be ≥ %d", v.n))
		}
	}
	if c.Resume && c.OutDir == "" {
		return bad("resume", true, "resume needs the run's directory (-out)")
	}
	if c.Resume && c.Force {
		return bad("force", true, "-force replaces a run, -resume continues it: give one")
	}
	if data != nil && data.Train != nil && data.Test != nil {
		if c.FixedN > data.Train.N {
			return bad("fixed", c.FixedN, fmt.Sprintf("the training set has %d images", data.Train.N))
		}
		if c.FixedN == 0 && c.Batch > data.Train.N {
			return bad("batch", c.Batch, fmt.Sprintf("the training set has %d images", data.Train.N))
		}
		if c.EvalN > data.Test.N {
			return bad("eval-n", c.EvalN, fmt.Sprintf("the test set has %d images", data.Test.N))
		}
	}
	if steps := float64(c.Epochs) * float64(c.Inner) * float64(c.batches(data)); steps > math.MaxInt32 {
		return bad("epochs", c.Epochs, fmt.Sprintf("%.3g steps in all: more than this runner counts (2³¹)", steps))
	}
	return c, nil
}

// Check validates c, with defaults filled in, against data (nil: not checked); the error, a
// *SettingError, names the first bad setting. Train checks the same.
func (c RunConfig) Check(data *MNIST) error {
	_, err := c.withDefaults(data)
	return err
}

// batches is the number of batches per epoch (1 if data is not known).
func (c RunConfig) batches(data *MNIST) int {
	if c.FixedN > 0 || data == nil || data.Train == nil {
		return 1
	}
	return (data.Train.N + c.Batch - 1) / c.Batch
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

// Train runs c on data (LoadMNIST's) on backend b and returns its rows. A bad configuration
// or run directory is a *SettingError with a nil result, returned before anything is written;
// a non-finite training loss is an error naming the step, with the rows so far; a closed
// c.Stop returns ErrInterrupted after the current step and a checkpoint (with a nil result if
// it closed before the run started).
//
// With c.OutDir the run is crash-safe (package runs): run.json first, then after each evaluation
// metrics.csv (written before the checkpoint of the same step, so a checkpoint never lacks its
// rows), checkpoints renamed into place whole; a resumed run restarts from its newest readable
// checkpoint with exactly the rows up to it and continues bit for bit (the seconds column
// excepted: it is wall-clock).
func Train(b compute.Backend, data *MNIST, c RunConfig) (*RunResult, error) {
	c, err := c.withDefaults(data)
	if err != nil {
		return nil, err
	}
	stopped := func() bool {
		select {
		case <-c.Stop:
			return true
		default:
			return false
		}
	}
	if stopped() {
		return nil, ErrInterrupted
	}
	modelFn := modelFns[c.Model]
	opt, err := c.optimizer()
	if err != nil {
		return nil, &SettingError{Key: "opt", Value: c.Optimizer, Problem: err.Error()}
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
	var dir *runs.Dir
	var ckpt *runs.Checkpoints
	start := 0
	secondsOffset := 0.0
	if c.OutDir != "" {
		if dir, err = c.openDir(b); err != nil {
			return nil, err
		}
		defer dir.Close()
		if ckpt, err = dir.Checkpoints(store, logf); err != nil {
			return nil, err
		}
		if c.Resume {
			start = int(optimizer.GetGlobalStep(store))
			if start > total {
				key, value := "epochs", c.Epochs
				if c.MaxSteps > 0 && c.MaxSteps == total {
					key, value = "max-steps", c.MaxSteps
				}
				return nil, &SettingError{Key: key, Value: value, Problem: fmt.Sprintf(
					"the run in %s is already at step %d, past this length (%d steps): -resume only extends a run", c.OutDir, start, total)}
			}
			if start > 0 {
				secondsOffset = model.GetParamOr(store.RootScope(), paramSeconds, 0.0)
				if res.Rows, err = readRows(dir.File(runs.MetricsFile), start); err != nil {
					return nil, err
				}
				logf("resuming at step %d (%.1f s of training) from %s", start, secondsOffset, ckpt.Loaded)
			} else {
				logf("%s has no checkpoint yet: starting its run from step 0", c.OutDir)
			}
		}
	}
	res.Steps = start
	defer func() { res.RejectedPairs, res.NonFiniteSteps = lbfgsCounters(store) }()
	writeMetrics := func() error {
		if dir == nil {
			return nil
		}
		return dir.WriteFile(runs.MetricsFile, rowsCSV(res.Rows))
	}
	if err := writeMetrics(); err != nil { // a resumed run: exactly the rows up to its checkpoint
		return nil, err
	}

	trainer := train.NewTrainer(b, store, modelFn, TrainerLoss, opt, nil, nil)
	loop := train.NewLoop(trainer)
	evaluate := func(step int, trainLoss, seconds float64) error {
		m, err := Evaluate(b, store, modelFn, testSet, 1000, dtypes.Float32)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, Row{Step: step, Epoch: float64(step) / float64(stepsPerEpoch),
			Seconds: seconds, TrainLoss: trainLoss, TestLoss: m.Loss, TestAccur: m.Accuracy})
		return writeMetrics()
	}
	if start == 0 {
		if err := evaluate(0, math.NaN(), 0); err != nil {
			return res, err
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
	save := func() error { // metrics.csv first: a checkpoint never lacks its rows
		if ckpt == nil {
			return nil
		}
		store.SetParam(paramSeconds, seconds())
		return errors.Join(writeMetrics(), ckpt.Save())
	}
	if stopped() {
		return res, ErrInterrupted
	}

	resume() // the clock starts now, after the evaluation at step 0

	lastStep := make(chan int, 1)
	done := make(chan struct{})
	defer close(done)
	go watchStalls(lastStep, done, c.StallAfter, logf)

	loop.OnStep("qnlab", 0, func(loop *train.Loop, metrics []*tensors.Tensor) error {
		step := loop.LoopStep + 1 // steps completed
		res.Steps = step
		loss := float64(tensors.ToScalar[float32](metrics[0]))
		select {
		case lastStep <- step:
		default:
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("models: step %d (%s, lr %g): the training loss is %g", step, c.Optimizer, c.LR, loss)
		}
		evalNow := (c.EvalEvery > 0 && step%c.EvalEvery == 0) || step == total
		saveNow := step == total || (c.CheckpointEvery > 0 && step%c.CheckpointEvery == 0)
		stop := stopped() && step < total
		if !evalNow && !saveNow && !stop {
			return nil
		}
		pause()
		defer resume()
		if evalNow {
			if err := evaluate(step, loss, seconds()); err != nil {
				return err
			}
		}
		if saveNow || stop {
			if err := save(); err != nil {
				return err
			}
		}
		if stop {
			return ErrInterrupted
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
			if errors.Is(err, ErrInterrupted) {
				return res, ErrInterrupted
			}
			return res, errors.Join(err, writeMetrics())
		}
	}
	res.Steps = total
	return res, nil
}

// openDir opens (and locks) c.OutDir for c: a new run writes run.json; a resumed one checks
// that c's Spec is the saved one's (Extensible keys aside). Its errors are *SettingErrors.
func (c RunConfig) openDir(b compute.Backend) (*runs.Dir, error) {
	mode := runs.New
	switch {
	case c.Resume:
		mode = runs.Resume
	case c.Force:
		mode = runs.Replace
	}
	dir, err := runs.Open(c.OutDir, mode)
	if err != nil {
		problem := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "runs: "), c.OutDir+" ")
		if errors.Is(err, runs.ErrHoldsRun) {
			problem += ": continue it with -resume, or replace it with -force"
		}
		return nil, &SettingError{Key: "out", Value: c.OutDir, Problem: problem}
	}
	if !c.Resume {
		rec := runRecord{Spec: c.Spec(), Versions: versions(), Backend: backend.Config(), Created: time.Now().UTC().Format(time.RFC3339)}
		if err := dir.WriteJSON(runs.SpecFile, rec); err != nil {
			dir.Close()
			return nil, &SettingError{Key: "out", Value: c.OutDir, Problem: err.Error()}
		}
		return dir, nil
	}
	var rec runRecord
	if err := dir.ReadJSON(runs.SpecFile, &rec); err != nil {
		dir.Close()
		return nil, &SettingError{Key: "out", Value: c.OutDir, Problem: fmt.Sprintf("cannot resume: %v", err)}
	}
	for _, d := range rec.Spec.Differences(c.Spec()) {
		if !slices.Contains(Extensible, d.Key) {
			dir.Close()
			return nil, &SettingError{Key: d.Key, Value: d.B, Problem: fmt.Sprintf(
				"the run in %s has %s %s; -resume keeps a run's settings (only %s may change)", c.OutDir, d.Key, d.A, strings.Join(Extensible, " and "))}
		}
	}
	if rec.Backend != backend.Config() {
		fmt.Fprintf(cmp.Or[io.Writer](c.Log, io.Discard), "note: %s ran on backend %s, this resume runs on %s: the numbers will not continue bit for bit\n",
			c.OutDir, rec.Backend, backend.Config())
	}
	return dir, nil
}

// lbfgsCounters reads L-BFGS's counters from a store (0, 0 for other optimizers).
func lbfgsCounters(store *model.Store) (rejected, nonFinite int) {
	return counter(store, lbfgs.VarSkipped), counter(store, lbfgs.VarNonFinite)
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

// rowsCSV is metrics.csv's content: the header and one line per row, numbers in full precision.
func rowsCSV(rows []Row) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(csvHeader)
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{strconv.Itoa(r.Step), g(r.Epoch), g(r.Seconds), g(r.TrainLoss), g(r.TestLoss), g(r.TestAccur)})
	}
	w.Flush()
	return buf.Bytes()
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
