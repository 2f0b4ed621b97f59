package runs

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"qnlab/pkg/models"
)

// BatchStudy measures test accuracy against batch size, for the lecture's claim "do not use
// mini-batches larger than 32" (seed 001, quoting Masters & Luschi 2018): for each optimizer and
// batch size, the learning rate is tuned on a held-out part of the training set, then test
// accuracy is read at equal epochs and at equal training time.
//
// Tuning: the model is trained on the first TrainN training images for Epochs epochs with each
// rate of the optimizer's grid; the rate with the best accuracy on the next HoldoutN training
// images (never trained on) wins, ties going to the lower held-out loss. A rate whose run
// diverges scores 0. Equal epochs: the winning run's test accuracy (first EvalN test images).
// Equal time: a second run at the winning rate, ended by TimeLimit of training time (Options).
type BatchStudy struct {
	Model      string
	Optimizers []string
	// Batches are the batch sizes, e.g. 8 … 1024.
	Batches []int
	// LRs is the learning-rate grid of each optimizer (by registry name).
	LRs                     map[string][]float64
	TrainN, HoldoutN, EvalN int
	Epochs                  int
	// TimeLimit is the training time of the equal-time runs.
	TimeLimit time.Duration
	Seed      uint64
	// Log, if not nil, gets one line per run (the study takes minutes).
	Log io.Writer
}

// TunedRate is one rate of the grid: its held-out and test results after Epochs epochs.
type TunedRate struct {
	LR                      float64
	HoldoutAccur, TestAccur float64
	HoldoutLoss             float64
	Seconds                 float64
	Diverged                bool
}

// BatchResult is one optimizer at one batch size.
type BatchResult struct {
	Optimizer string
	Batch     int
	// LR is the tuned rate; Grid all the rates tried.
	LR   float64
	Grid []TunedRate
	// EpochAccur is the test accuracy after Epochs epochs at LR, in EpochSeconds of training.
	EpochAccur, EpochSeconds float64
	// TimeAccur is the test accuracy after TimeLimit of training at LR, after TimeEpochs
	// epochs (TimeSteps steps).
	TimeAccur, TimeEpochs float64
	TimeSteps             int
}

func (s BatchStudy) check(data *models.MNIST) error {
	switch {
	case data == nil || data.Train == nil || data.Test == nil:
		return errors.New("runs: BatchStudy needs MNIST data")
	case s.TrainN < 1 || s.HoldoutN < 1 || s.TrainN+s.HoldoutN > data.Train.N:
		return fmt.Errorf("runs: BatchStudy: TrainN %d + HoldoutN %d must be ≥ 1 each and fit in the %d training images", s.TrainN, s.HoldoutN, data.Train.N)
	case s.EvalN < 1 || s.EvalN > data.Test.N:
		return fmt.Errorf("runs: BatchStudy: EvalN %d must be in [1, %d]", s.EvalN, data.Test.N)
	case s.Epochs < 1 || s.TimeLimit <= 0 || len(s.Batches) == 0 || len(s.Optimizers) == 0:
		return errors.New("runs: BatchStudy needs Epochs ≥ 1, TimeLimit > 0, batch sizes and optimizers")
	}
	for _, o := range s.Optimizers {
		if len(s.LRs[o]) == 0 {
			return fmt.Errorf("runs: BatchStudy: no learning rates for %s", o)
		}
	}
	for _, b := range s.Batches {
		if b < 1 || b > s.TrainN {
			return fmt.Errorf("runs: BatchStudy: batch %d must be in [1, TrainN = %d]", b, s.TrainN)
		}
	}
	return nil
}

// Run runs the study on backend b; results are in the order Optimizers × Batches.
func (s BatchStudy) Run(b compute.Backend, data *models.MNIST) ([]BatchResult, error) {
	if err := s.check(data); err != nil {
		return nil, err
	}
	train := &models.MNIST{Train: data.Train.Head(s.TrainN), Test: data.Train.Slice(s.TrainN, s.TrainN+s.HoldoutN), Dir: data.Dir}
	test := data.Test.Head(s.EvalN)
	modelFn, err := models.ByName(s.Model)
	if err != nil {
		return nil, err
	}
	var out []BatchResult
	for _, opt := range s.Optimizers {
		for _, batch := range s.Batches {
			r := BatchResult{Optimizer: opt, Batch: batch}
			best := -1
			for _, lr := range s.LRs[opt] {
				spec := Spec{Model: s.Model, Optimizer: opt, LR: lr, Batch: batch, Epochs: s.Epochs, Seed: s.Seed}
				t := TunedRate{LR: lr}
				res, err := Train(b, train, spec, Options{})
				switch {
				case err != nil && isDivergence(err):
					t.Diverged = true
				case err != nil:
					return out, err
				default:
					f := res.Final()
					t.HoldoutAccur, t.HoldoutLoss, t.Seconds = f.TestAccur, f.TestLoss, f.Seconds
					m, err := models.Evaluate(b, res.Store, modelFn, test, 1000, dtypes.Float32)
					if err != nil {
						return out, err
					}
					t.TestAccur = m.Accuracy
				}
				s.logf("batch study %s %s batch %d lr %g: held-out %.4f, test %.4f (%.1f s)%s", s.Model, opt, batch, lr,
					t.HoldoutAccur, t.TestAccur, t.Seconds, map[bool]string{true: ", diverged"}[t.Diverged])
				r.Grid = append(r.Grid, t)
				if !t.Diverged && (best < 0 || t.HoldoutAccur > r.Grid[best].HoldoutAccur ||
					(t.HoldoutAccur == r.Grid[best].HoldoutAccur && t.HoldoutLoss < r.Grid[best].HoldoutLoss)) {
					best = len(r.Grid) - 1
				}
			}
			if best < 0 {
				out = append(out, r) // every rate diverged: accuracies stay 0
				continue
			}
			win := r.Grid[best]
			r.LR, r.EpochAccur, r.EpochSeconds = win.LR, win.TestAccur, win.Seconds
			// Long enough for TimeLimit at 4× the tuning run's speed, and no longer: GoMLX's loop
			// allocates 8 bytes per step of the run up front (Loop.TrainStepDurations).
			perEpoch := (s.TrainN + batch - 1) / batch
			rate := float64(s.Epochs*perEpoch) / max(win.Seconds, 1e-3)
			steps := int(min(4*rate*s.TimeLimit.Seconds(), 1<<26)) + 1000
			long := Spec{Model: s.Model, Optimizer: opt, LR: win.LR, Batch: batch, Epochs: steps/perEpoch + 1, MaxSteps: steps,
				Seed: s.Seed, EvalN: s.EvalN}
			res, err := Train(b, &models.MNIST{Train: train.Train, Test: test, Dir: data.Dir}, long, Options{TimeLimit: s.TimeLimit})
			if err != nil && !isDivergence(err) {
				return out, err
			}
			if err == nil {
				f := res.Final()
				r.TimeAccur, r.TimeEpochs, r.TimeSteps = f.TestAccur, f.Epoch, f.Step
			}
			s.logf("batch study %s %s batch %d lr %g: %.4f after %v (%d steps, %.2f epochs)", s.Model, opt, batch, win.LR,
				r.TimeAccur, s.TimeLimit, r.TimeSteps, r.TimeEpochs)
			out = append(out, r)
		}
	}
	return out, nil
}

// isDivergence reports whether err is Train's error for a non-finite training loss.
func isDivergence(err error) bool {
	var d *DivergedError
	return errors.As(err, &d)
}

func (s BatchStudy) logf(format string, a ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", a...)
	}
}
