package bench

import (
	"os"
	"testing"
)

// TestMGH is issue #4's benchmark criterion: on the MGH problems gonum ships, L-BFGS reaches
// ‖∇f‖∞ ≤ 1e-6 wherever gonum's LBFGS does, and needs no more evaluations than gonum's on at
// least 80% of the problems both solve.
func TestMGH(t *testing.T) {
	rows, err := CompareMGH(MGHSettings{Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		_ = WriteMGHTable(os.Stdout, rows)
	}
	for _, r := range rows {
		if r.Gonum.Solved && !r.QNLab.Solved {
			t.Errorf("%s: gonum converges (%d evaluations), qnlab does not: %s at ‖g‖∞ = %g", r.Problem, r.Gonum.Evals, r.QNLab.Status, r.QNLab.GradNorm)
		}
	}
	both, noMore := MGHSummary(rows)
	t.Logf("both solve %d of %d; qnlab needs no more evaluations on %d", both, len(rows), noMore)
	if both == 0 || float64(noMore) < 0.8*float64(both) {
		t.Errorf("qnlab needs no more evaluations than gonum on %d of %d problems both solve (< 80%%)", noMore, both)
	}
}
