package models

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/runs"
)

// TestResumeEqualsUninterrupted: 2 steps, a checkpoint, then 2 more steps after -resume give
// bit for bit the rows (losses, test accuracy) and parameters of 4 uninterrupted steps — with
// L-BFGS, whose history must survive the checkpoint, and 2 inner steps per batch, so the resumed
// run must also restart mid-batch.
func TestResumeEqualsUninterrupted(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	base := RunConfig{Optimizer: "lbfgs", Batch: 32, Inner: 2, Seed: 5, EvalEvery: 1, EvalN: 100, MaxSteps: 4}
	full := base
	full.OutDir = filepath.Join(t.TempDir(), "full")
	a, err := Train(be, data, full)
	if err != nil {
		t.Fatal(err)
	}
	part := base
	part.OutDir = filepath.Join(t.TempDir(), "part")
	part.MaxSteps, part.CheckpointEvery = 2, 2
	if _, err := Train(be, data, part); err != nil {
		t.Fatal(err)
	}
	part.MaxSteps, part.Resume = 4, true
	b, err := Train(be, data, part)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) != 5 || len(b.Rows) != 5 {
		t.Fatalf("rows: uninterrupted %d, resumed %d; want 5 (steps 0…4)", len(a.Rows), len(b.Rows))
	}
	for i := range a.Rows {
		ra, rb := a.Rows[i], b.Rows[i]
		same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
		if ra.Step != rb.Step || !same(ra.TrainLoss, rb.TrainLoss) || !same(ra.TestLoss, rb.TestLoss) || !same(ra.TestAccur, rb.TestAccur) {
			t.Errorf("row %d differs: uninterrupted %+v, resumed %+v", i, ra, rb)
		}
	}
	for v := range a.Store.IterVariables() {
		if strings.HasPrefix(v.Scope(), "/metrics") {
			continue // the trainer's moving-average loss, kept only in memory (a uuid in its name)
		}
		w := b.Store.GetVariable(v.Path())
		if w == nil {
			t.Errorf("variable %s missing after resume", v.Path())
			continue
		}
		va, vb := v.MustValue(), w.MustValue()
		if !tensorsBitEqual(va, vb) {
			t.Errorf("variable %s differs after resume", v.Path())
		}
	}
	if rows, err := readRows(filepath.Join(part.OutDir, "metrics.csv"), 1<<30); err != nil || len(rows) != 5 {
		t.Errorf("resumed metrics.csv: %d rows, %v", len(rows), err)
	}
}

// tensorsBitEqual compares shapes and values exactly (no NaN is expected in these tensors).
func tensorsBitEqual(a, b *tensors.Tensor) bool {
	return a.Shape().Equal(b.Shape()) && reflect.DeepEqual(a.Value(), b.Value())
}

func TestTrainBadConfig(t *testing.T) {
	data := &MNIST{}
	for _, c := range []struct {
		cfg  RunConfig
		want string
	}{
		{RunConfig{Model: "resnet"}, "unknown model"},
		{RunConfig{Optimizer: "newton"}, "unknown optimizer"},
		{RunConfig{LR: -1}, "learning rate"},
		{RunConfig{Batch: -3}, "batch"},
		{RunConfig{Inner: -1}, "inner"},
		{RunConfig{Resume: true}, "resume"},
		{RunConfig{Optimizer: "lbfgs", Gamma: lbfgs.GammaRule(7)}, "γ rule"},
	} {
		if _, err := Train(backend.MustDefault(), data, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.cfg, err, c.want)
		}
	}
}

// TestTrainStopsOnNaN: SGD with a huge step diverges; the run stops with an error naming the step.
func TestTrainStopsOnNaN(t *testing.T) {
	data := loadRealMNIST(t)
	_, err := Train(backend.MustDefault(), data, RunConfig{Model: "mlp", Optimizer: "sgd", LR: 1e12, Batch: 64, MaxSteps: 30, EvalN: 100, Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "training loss is") || !strings.Contains(err.Error(), "step ") {
		t.Fatalf("diverging run: error %v", err)
	}
}

// TestFixedSampleLBFGS: the paper's L-BFGS on a fixed sample of 256 images lowers the loss.
func TestFixedSampleLBFGS(t *testing.T) {
	data := loadRealMNIST(t)
	r, err := Train(backend.MustDefault(), data, RunConfig{Model: "mlp", Optimizer: "lbfgs", LR: 0.1, FixedN: 256, Epochs: 40, EvalN: 500, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	first, last := r.Rows[0], r.Final()
	t.Logf("MLP, L-BFGS lr 0.1, 40 full-batch steps on 256 images: batch loss at the end %.4f; test loss %.4f → %.4f, accuracy %.1f%% → %.1f%%",
		last.TrainLoss, first.TestLoss, last.TestLoss, 100*first.TestAccur, 100*last.TestAccur)
	if r.Steps != 40 || !(last.TrainLoss < 0.5) || !(last.TestLoss < first.TestLoss) {
		t.Errorf("steps %d, final batch loss %g, test loss %g → %g", r.Steps, last.TrainLoss, first.TestLoss, last.TestLoss)
	}
}

// TestRunDirectoryKnowsItsRun: run.json holds the Spec; a second run into the directory is
// refused and changes nothing; a resume with another setting, or a shorter length, is refused
// naming the setting; Force replaces the run.
func TestRunDirectoryKnowsItsRun(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	dir := filepath.Join(t.TempDir(), "run")
	c := RunConfig{Model: "mlp", Optimizer: "sgd", Batch: 32, Seed: 3, EvalN: 100, MaxSteps: 4, OutDir: dir}
	if _, err := Train(be, data, c); err != nil {
		t.Fatal(err)
	}
	spec, err := ReadSpec(dir)
	if err != nil || spec != c.Spec() || spec.LR != 0.01 || spec.Batch != 32 {
		t.Fatalf("run.json spec %+v (%v), want %+v", spec, err, c.Spec())
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, runs.MetricsFile))

	settingErr := func(c RunConfig, key string) {
		t.Helper()
		res, err := Train(be, data, c)
		var se *SettingError
		if !errors.As(err, &se) || se.Key != key || res != nil {
			t.Errorf("%+v: result %v, error %v; want a SettingError for %q", c, res, err, key)
		}
	}
	settingErr(c, "out")
	if again, _ := os.ReadFile(filepath.Join(dir, runs.MetricsFile)); !bytes.Equal(again, metrics) {
		t.Error("a refused run changed metrics.csv")
	}
	resume := c
	resume.Resume = true
	changed := resume
	changed.LR = 0.1
	settingErr(changed, "lr")
	shorter := resume
	shorter.MaxSteps = 2
	settingErr(shorter, "max-steps")
	both := resume
	both.Force = true
	settingErr(both, "force")

	forced := c
	forced.Force, forced.Seed = true, 4
	if _, err := Train(be, data, forced); err != nil {
		t.Fatal(err)
	}
	if spec, _ := ReadSpec(dir); spec.Seed != 4 {
		t.Errorf("after Force: run.json seed %d, want 4", spec.Seed)
	}
}

// TestStopCheckpointsAndResumes: Stop closing during the run ends it after the current step
// with ErrInterrupted and a checkpoint; resuming gives the rows of an uninterrupted run bit for
// bit (seconds excepted), and the counters.
func TestStopCheckpointsAndResumes(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	base := RunConfig{Model: "mlp", Optimizer: "lbfgs", LR: 0.05, Batch: 32, Inner: 2, Seed: 7, EvalEvery: 2, EvalN: 100, MaxSteps: 6}
	full, err := Train(be, data, base)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	c := base
	c.OutDir, c.Stop = filepath.Join(t.TempDir(), "run"), stop
	c.Log = writerFunc(func(p []byte) {
		if bytes.HasPrefix(p, []byte("training ")) { // logged just before the first step
			close(stop)
		}
	})
	part, err := Train(be, data, c)
	if !errors.Is(err, ErrInterrupted) || part.Steps != 1 {
		t.Fatalf("stopped run: steps %d, error %v; want ErrInterrupted after step 1", part.Steps, err)
	}
	c.Stop, c.Log, c.Resume = nil, nil, true
	resumed, err := Train(be, data, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(resumed.Rows) != len(full.Rows) {
		t.Fatalf("resumed %d rows, uninterrupted %d", len(resumed.Rows), len(full.Rows))
	}
	same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	for i, a := range full.Rows {
		b := resumed.Rows[i]
		if a.Step != b.Step || !same(a.TrainLoss, b.TrainLoss) || !same(a.TestLoss, b.TestLoss) || !same(a.TestAccur, b.TestAccur) {
			t.Errorf("row %d: uninterrupted %+v, resumed %+v", i, a, b)
		}
	}
	if resumed.RejectedPairs != full.RejectedPairs || resumed.NonFiniteSteps != full.NonFiniteSteps {
		t.Errorf("counters: uninterrupted %d/%d, resumed %d/%d", full.RejectedPairs, full.NonFiniteSteps, resumed.RejectedPairs, resumed.NonFiniteSteps)
	}
}

// TestCheckAgainstData: sizes larger than the data are refused, not clamped.
func TestCheckAgainstData(t *testing.T) {
	data := loadRealMNIST(t)
	for _, c := range []struct {
		cfg RunConfig
		key string
	}{
		{RunConfig{FixedN: data.Train.N + 1}, "fixed"},
		{RunConfig{Batch: data.Train.N + 1}, "batch"},
		{RunConfig{EvalN: data.Test.N + 1}, "eval-n"},
		{RunConfig{Epochs: 1 << 30}, "epochs"},
		{RunConfig{LR: math.Inf(1)}, "lr"},
		{RunConfig{CheckpointEvery: -1}, "checkpoint-every"},
	} {
		var se *SettingError
		if err := c.cfg.Check(data); !errors.As(err, &se) || se.Key != c.key {
			t.Errorf("%+v: %v, want a SettingError for %q", c.cfg, err, c.key)
		}
	}
	if err := (RunConfig{FixedN: data.Train.N, EvalN: data.Test.N}).Check(data); err != nil {
		t.Errorf("the whole data: %v", err)
	}
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
