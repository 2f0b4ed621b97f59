package runs

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/gomlx/gomlx/ui/commandline"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
	"qnlab/pkg/precond"
)

// ErrInterrupted is Train's error when Options.Stop closed before the run's end; the result
// holds the rows so far and, with a directory, a checkpoint to resume from.
var ErrInterrupted = errors.New("runs: interrupted")

// Result is a finished (or interrupted) run.
type Result struct {
	// Spec is the run's specification, defaults filled in.
	Spec Spec
	// Steps is the number of optimizer steps taken (a resumed run's earlier ones included).
	Steps   int
	Rows    []Row
	Backend string
	// Store holds the trained variables (and the optimizer's state).
	Store *model.Store
	// Counters are L-BFGS's counts (zero for other optimizers).
	Counters lbfgs.Counters
	// TimedOut is true if Options.TimeLimit ended the run before its last step.
	TimedOut bool
	// Reached is true if Options.Until ended the run.
	Reached bool
}

// DivergedError is Train's error when the training loss stops being finite.
type DivergedError struct {
	Step      int
	Optimizer string
	LR, Loss  float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("runs: step %d (%s, lr %g): the training loss is %g", e.Step, e.Optimizer, e.LR, e.Loss)
}

// errTimeUp ends GoMLX's loop when Options.TimeLimit is reached, errReached when Options.Until
// accepts a row; Train returns the result.
var (
	errTimeUp  = errors.New("runs: time limit reached")
	errReached = errors.New("runs: Until reached")
)

// Progress is a run's state, for Options.Report.
type Progress struct {
	// Step is the number of steps taken (a resumed run's earlier ones included), Total the run's
	// length in steps.
	Step, Total int
	// Loss is the last step's training loss, Seconds the training time so far.
	Loss, Seconds float64
	// Accuracy is the last evaluation's test accuracy.
	Accuracy float64
	// Done marks the last report of the run (ended, stopped, or failed).
	Done bool
}

// reportEvery is the interval between two Options.Report calls during a run.
const reportEvery = time.Second

// Final returns the last row.
func (r *Result) Final() Row { return r.Rows[len(r.Rows)-1] }

// paramSeconds is the store parameter that carries a run's training seconds in checkpoints.
const paramSeconds = "qnlab_train_seconds"

// Train runs spec on data (models.LoadMNIST's) on backend b, executed as opts says, and returns
// its rows. A bad spec, options or run directory is a *SettingError with a nil result, returned
// before anything is written; a non-finite training loss is an error naming the step, with the
// rows so far; a closed opts.Stop returns ErrInterrupted after the current step and a
// checkpoint (with a nil result if it closed before the run started).
//
// With opts.Dir the run is crash-safe (see the package doc): run.json first, then after each
// evaluation metrics.csv (written before the checkpoint of the same step, so a checkpoint never
// lacks its rows), checkpoints renamed into place whole; a resumed run restarts from its newest
// readable checkpoint with exactly the rows up to it and continues bit for bit (the seconds
// column excepted: it is wall-clock).
func Train(b compute.Backend, data *models.MNIST, spec Spec, opts Options) (*Result, error) {
	r, err := newRun(b, data, spec, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if r.stopped() {
		return nil, ErrInterrupted
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r.res, r.train()
}

// run is one training run in progress: its data stream, store, directory, clock and rows.
type run struct {
	spec    Spec
	opts    Options
	b       compute.Backend
	modelFn models.ModelFn
	opt     optimizer.Interface
	sq      *lbfgs.StochasticOptimizer // opt, if a stochastic L-BFGS
	batcher *models.Batcher
	testSet *models.Set

	stepsPerEpoch, total, start int

	// firstStep is the clock's reading after the run's (or the resumed run's) first step.
	firstStep float64
	// lastReport is when Options.Report was last called.
	lastReport time.Time

	store *model.Store
	dir   *Dir
	ckpt  *Checkpoints
	clock *clock
	res   *Result
}

func newRun(b compute.Backend, data *models.MNIST, spec Spec, opts Options) (*run, error) {
	if err := spec.Check(data); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	spec = spec.WithDefaults()
	opts.StallAfter = cmp.Or(opts.StallAfter, 2*time.Minute)
	r := &run{spec: spec, opts: opts, b: b}
	r.modelFn, _ = models.ByName(spec.Model)
	entry, _ := LookupOptimizer(spec.Optimizer)
	var err error
	if r.opt, err = entry.New(spec); err != nil {
		return nil, &SettingError{Key: "opt", Value: spec.Optimizer, Problem: err.Error()}
	}
	r.batcher = models.NewBatcher(data.Train, spec.Batch, spec.Seed)
	if spec.FixedN > 0 {
		r.batcher = models.FixedSample(data.Train, spec.FixedN)
	}
	r.batcher.DType = spec.GoMLXDType()
	r.stepsPerEpoch = r.batcher.NumBatches() * spec.Inner
	if sq, ok := r.opt.(*lbfgs.StochasticOptimizer); ok {
		r.sq = sq
		stride := sq.Layout().Stride()
		r.stepsPerEpoch = (data.Train.N + stride - 1) / stride
	}
	r.total = spec.Epochs * r.stepsPerEpoch
	if spec.MaxSteps > 0 {
		r.total = min(r.total, spec.MaxSteps)
	}
	r.testSet = data.Test
	if spec.EvalN > 0 {
		r.testSet = r.testSet.Head(spec.EvalN)
	}
	r.store = models.NewStore(int64(spec.Seed))
	r.res = &Result{Spec: spec, Backend: b.Name(), Store: r.store}
	r.clock = newClock(0)
	return r, nil
}

func (r *run) logf(format string, a ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", a...)
	}
}

func (r *run) stopped() bool {
	select {
	case <-r.opts.Stop:
		return true
	default:
		return false
	}
}

// open opens (and locks) the run's directory, if any: a new run writes run.json; a resumed one
// checks its Spec against run.json's and restores the newest readable checkpoint, its clock and
// its rows. Its errors are *SettingErrors.
func (r *run) open() error {
	if r.opts.Dir == "" {
		return nil
	}
	mode := New
	switch {
	case r.opts.Resume:
		mode = Resume
	case r.opts.Force:
		mode = Replace
	}
	var err error
	if r.dir, err = Open(r.opts.Dir, mode); err != nil {
		problem := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "runs: "), r.opts.Dir+" ")
		if errors.Is(err, ErrHoldsRun) {
			problem += ": continue it with -resume, or replace it with -force"
		}
		return &SettingError{Key: "out", Value: r.opts.Dir, Problem: problem}
	}
	if !r.opts.Resume {
		rec := record{Spec: r.spec, Versions: versions(), Backend: backend.Config(), Created: time.Now().UTC().Format(time.RFC3339)}
		if err := r.dir.WriteJSON(SpecFile, rec); err != nil {
			return &SettingError{Key: "out", Value: r.opts.Dir, Problem: err.Error()}
		}
	} else if err := r.checkResume(); err != nil {
		return err
	}
	if r.ckpt, err = r.dir.Checkpoints(r.store, r.logf); err != nil {
		return err
	}
	if !r.opts.Resume {
		return nil
	}
	r.start = int(optimizer.GetGlobalStep(r.store))
	if r.start > r.total {
		key, value := "epochs", r.spec.Epochs
		if r.spec.MaxSteps > 0 && r.spec.MaxSteps == r.total {
			key, value = "max-steps", r.spec.MaxSteps
		}
		return &SettingError{Key: key, Value: value, Problem: fmt.Sprintf(
			"the run in %s is already at step %d, past this length (%d steps): -resume only extends a run", r.opts.Dir, r.start, r.total)}
	}
	if r.start == 0 {
		r.logf("%s has no checkpoint yet: starting its run from step 0", r.opts.Dir)
		return nil
	}
	seconds := model.GetParamOr(r.store.RootScope(), paramSeconds, 0.0)
	r.clock = newClock(seconds)
	if r.res.Rows, err = ReadRows(r.dir.File(MetricsFile), r.start); err != nil {
		return err
	}
	r.res.Steps = r.start
	r.logf("resuming at step %d (%.1f s of training) from %s", r.start, seconds, r.ckpt.Loaded)
	return nil
}

// checkResume compares the run's Spec with run.json's: only the Extensible keys may differ.
func (r *run) checkResume() error {
	var rec record
	if err := r.dir.ReadJSON(SpecFile, &rec); err != nil {
		return &SettingError{Key: "out", Value: r.opts.Dir, Problem: fmt.Sprintf("cannot resume: %v", err)}
	}
	for _, d := range rec.Spec.WithDefaults().Differences(r.spec) {
		if !slices.Contains(Extensible, d.Key) {
			return &SettingError{Key: d.Key, Value: d.B, Problem: fmt.Sprintf(
				"the run in %s has %s %s; -resume keeps a run's settings (only %s may change)", r.opts.Dir, d.Key, d.A, strings.Join(Extensible, " and "))}
		}
	}
	if rec.Backend != backend.Config() {
		r.logf("note: %s ran on backend %s, this resume runs on %s: the numbers will not continue bit for bit",
			r.opts.Dir, rec.Backend, backend.Config())
	}
	return nil
}

func (r *run) close() {
	r.res.Counters = lbfgs.ReadCounters(r.store)
	if r.dir != nil {
		r.dir.Close()
	}
}

// writeMetrics rewrites metrics.csv with the rows so far (atomically).
func (r *run) writeMetrics() error {
	if r.dir == nil {
		return nil
	}
	return r.dir.WriteFile(MetricsFile, RowsCSV(r.res.Rows))
}

// evaluate adds the row of step (test loss and accuracy on the evaluation set) and writes
// metrics.csv.
func (r *run) evaluate(step int, trainLoss float64) error {
	m, err := models.Evaluate(r.b, r.store, r.modelFn, r.testSet, 1000, r.spec.GoMLXDType())
	if err != nil {
		return err
	}
	r.res.Rows = append(r.res.Rows, Row{Step: step, Epoch: float64(step) / float64(r.stepsPerEpoch),
		Seconds: r.clock.Seconds(), TrainLoss: trainLoss, TestLoss: m.Loss, TestAccur: m.Accuracy})
	return r.writeMetrics()
}

// checkpoint saves the store, metrics.csv first: a checkpoint never lacks its rows.
func (r *run) checkpoint() error {
	if r.ckpt == nil {
		return nil
	}
	r.store.SetParam(paramSeconds, r.clock.Seconds())
	return errors.Join(r.writeMetrics(), r.ckpt.Save())
}

// onStep runs after every optimizer step: it records the step, stops on a non-finite loss, and
// evaluates, checkpoints or stops when due. The clock is paused meanwhile.
func (r *run) onStep(step int, loss float64, lastStep chan<- int) error {
	r.res.Steps = step
	if r.opts.Report != nil && time.Since(r.lastReport) >= reportEvery {
		r.report(loss, false)
	}
	select {
	case lastStep <- step:
	default:
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return &DivergedError{Step: step, Optimizer: r.spec.Optimizer, LR: r.spec.LR, Loss: loss}
	}
	if step == r.start+1 {
		r.firstStep = r.clock.Seconds() // the first step's time includes compiling the graph
	}
	timeUp := r.opts.TimeLimit > 0 && step > r.start+1 && step < r.total && r.clock.Seconds()-r.firstStep >= r.opts.TimeLimit.Seconds()
	evalNow := (r.spec.EvalEvery > 0 && step%r.spec.EvalEvery == 0) || step == r.total || timeUp ||
		(r.opts.EvalAt != nil && r.opts.EvalAt(step, r.res.Rows))
	saveNow := step == r.total || timeUp || (r.opts.CheckpointEvery > 0 && step%r.opts.CheckpointEvery == 0)
	stop := r.stopped() && step < r.total
	if !evalNow && !saveNow && !stop {
		return nil
	}
	r.clock.Pause()
	defer r.clock.Start()
	reached := false
	if evalNow {
		if err := r.evaluate(step, loss); err != nil {
			return err
		}
		reached = r.opts.Until != nil && r.opts.Until(r.res.Final())
	}
	if saveNow || stop || reached {
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
	if stop {
		return ErrInterrupted
	}
	if reached {
		r.res.Reached = true
		return errReached
	}
	if timeUp {
		r.res.TimedOut = true
		return errTimeUp
	}
	return nil
}

// report calls Options.Report with the run's state.
func (r *run) report(loss float64, done bool) {
	p := Progress{Step: r.res.Steps, Total: r.total, Loss: loss, Seconds: r.clock.Seconds(), Accuracy: math.NaN(), Done: done}
	if n := len(r.res.Rows); n > 0 {
		p.Accuracy = r.res.Rows[n-1].TestAccur
		if math.IsNaN(loss) {
			p.Loss = r.res.Rows[n-1].TrainLoss
		}
	}
	r.opts.Report(p)
	r.lastReport = time.Now()
}

// train evaluates at step 0 (a new run), then runs GoMLX's training loop to the end.
func (r *run) train() error {
	if r.opts.Report != nil {
		defer func() { r.report(math.NaN(), true) }()
	}
	if err := r.writeMetrics(); err != nil { // a resumed run: exactly the rows up to its checkpoint
		return err
	}
	if r.start == 0 {
		if err := r.evaluate(0, math.NaN()); err != nil {
			return err
		}
	}
	if r.stopped() {
		return ErrInterrupted
	}
	var trainer *train.Trainer
	var data train.Dataset
	pc, isPrecond := r.opt.(precond.Optimizer)
	switch {
	case r.sq != nil:
		trainer = train.NewTrainer(r.b, r.store, r.sq.ModelFn(models.ExampleLoss(r.modelFn)), nil, r.opt, nil, nil)
		data = &windowStream{b: r.batcher, lay: r.sq.Layout(), seed: r.spec.Seed, next: r.start}
	case isPrecond:
		trainer = train.NewTrainer(r.b, r.store, pc.ModelFn(r.modelFn), models.TrainerLoss, r.opt, nil, nil)
		data = &stream{b: r.batcher, inner: r.spec.Inner, next: r.start, spec: pc.SpecAt}
	default:
		trainer = train.NewTrainer(r.b, r.store, r.modelFn, models.TrainerLoss, r.opt, nil, nil)
		data = &stream{b: r.batcher, inner: r.spec.Inner, next: r.start}
	}
	loop := train.NewLoop(trainer)
	if isPrecond {
		precond.Attach(loop, pc)
	}
	lastStep := make(chan int, 1)
	done := make(chan struct{})
	defer close(done)
	go watchStalls(lastStep, done, r.opts.StallAfter, r.logf)
	loop.OnStep("qnlab", 0, func(loop *train.Loop, metrics []*tensors.Tensor) error {
		return r.onStep(loop.LoopStep+1, scalarValue(metrics[0]), lastStep)
	})
	if r.opts.Progress {
		commandline.AttachProgressBar(loop)
	}
	r.logf("training %s with %s (lr %g, inner %d) for %d steps on %s", r.spec.Model, r.spec.Optimizer, r.spec.LR, r.spec.Inner, r.total, r.b.Name())
	r.clock.Start() // the clock starts now, after the evaluation at step 0
	if r.total > r.start {
		var metrics []*tensors.Tensor
		var runErr error
		panicErr := exceptions.TryCatch[error](func() {
			metrics, runErr = loop.RunSteps(data, r.total-r.start)
		})
		for _, m := range metrics {
			m.MustFinalizeAll()
		}
		if err := errors.Join(panicErr, runErr); err != nil {
			if errors.Is(err, ErrInterrupted) {
				return ErrInterrupted
			}
			if errors.Is(err, errTimeUp) || errors.Is(err, errReached) {
				return nil
			}
			return errors.Join(err, r.writeMetrics())
		}
	}
	r.res.Steps = r.total
	return nil
}

// scalarValue reads a float32 or float64 scalar tensor (the step's loss) as a float64.
func scalarValue(t *tensors.Tensor) float64 {
	switch x := t.Value().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}
