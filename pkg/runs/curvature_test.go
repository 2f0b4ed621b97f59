package runs

import (
	"math"
	"testing"

	"qnlab/pkg/backend"
	"qnlab/pkg/models"
)

// TestGradientNoiseLaw: with tr(Σ) from every example of a small population, the measured
// noise of single examples and of batches of 8 matches the sampling law within the sampling
// error, and a batch of the whole population has none.
func TestGradientNoiseLaw(t *testing.T) {
	data := loadRealMNIST(t)
	pop := data.Train.Head(64)
	res, err := GradientNoise(backend.MustDefault(), models.NewStore(3), models.MLP, pop, []int{1, 8, 64}, 300, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Points {
		t.Logf("B %2d: measured %.4g ± %.2g (%d samples), law %.4g", p.Batch, p.Measured, p.Spread, p.Samples, p.Law)
		if p.Batch == 64 {
			if p.Measured > 1e-10 || p.Law != 0 {
				t.Errorf("the whole population: measured %.3g, law %.3g, want 0", p.Measured, p.Law)
			}
			continue
		}
		// The mean of 300 samples: its standard error is Spread/√300.
		if se := p.Spread / math.Sqrt(float64(p.Samples)); math.Abs(p.Measured-p.Law) > 4*se {
			t.Errorf("B %d: measured %.4g, law %.4g: more than 4 standard errors (%.3g) apart", p.Batch, p.Measured, p.Law, se)
		}
	}
}

// TestHessianSpectraWholePool: a batch the size of the pool is the pool, once, and its extreme
// Ritz values are those of models.HessianExtremes on the pool.
func TestHessianSpectraWholePool(t *testing.T) {
	data := loadRealMNIST(t)
	b, store, pool := backend.MustDefault(), models.NewStore(3), data.Train.Head(64)
	pts, err := HessianSpectra(b, store, models.MLP, pool, []int{16, 64}, 2, 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || len(pts[0].Largest) != 2 || len(pts[1].Largest) != 1 {
		t.Fatalf("points %+v: want 2 draws of 16 and the pool once", pts)
	}
	largest, smallest, _, err := models.HessianExtremes(b, store, models.MLP, pool, 30, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("B 16: λmax %.4g, λmin %.4g; pool: λmax %.6g (HessianExtremes %.6g), λmin %.4g (%.4g), ratio %.3g, indefinite %.0f%%",
		pts[0].Largest, pts[0].Smallest, pts[1].Largest[0], largest, pts[1].Smallest[0], smallest, pts[1].Ratio(0), 100*pts[1].Indefinite())
	if math.Abs(pts[1].Largest[0]-largest) > 1e-3*largest {
		t.Errorf("pool λmax %.6g, HessianExtremes %.6g", pts[1].Largest[0], largest)
	}
}

// TestPairStudyIdenticalBatches: when every batch holds the same example, the pair across two
// batches is the pair on one batch: equal curvature, cosine 1, no noise.
func TestPairStudyIdenticalBatches(t *testing.T) {
	data := loadRealMNIST(t)
	same := make([]int, 64)
	train := data.Train.Pick(same) // 64 copies of example 0
	steps, err := PairStudy(backend.MustDefault(), models.NewStore(3), models.MLP, train, 16, 3, 0.05, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps, want 3", len(steps))
	}
	for _, s := range steps {
		t.Logf("%+v", s)
		if s.CurvCross != s.CurvSame || math.Abs(s.Cos-1) > 1e-12 || s.NoiseRatio != 0 {
			t.Errorf("step %d: cross %.6g, same %.6g, cos %.15g, noise %.3g", s.Step, s.CurvCross, s.CurvSame, s.Cos, s.NoiseRatio)
		}
	}
}

// TestStepCost: one median step time per batch size, positive.
func TestStepCost(t *testing.T) {
	data := loadRealMNIST(t)
	pts, err := StepCost(backend.MustDefault(), data, Spec{Model: "mlp", Optimizer: "adam", Seed: 1}, []int{8, 64}, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		t.Logf("B %d: %.3g ms/step", p.Batch, 1000*p.Seconds)
		if !(p.Seconds > 0) || p.PerExample != p.Seconds/float64(p.Batch) {
			t.Errorf("%+v", p)
		}
	}
}
