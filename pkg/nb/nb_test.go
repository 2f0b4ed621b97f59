package nb

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/lbfgs"
)

func TestSizeFromEnv(t *testing.T) {
	for _, c := range []struct {
		quick, full string
		want        Size
		pick        string
	}{
		{"", "", Default, "d"}, {"1", "", Quick, "q"}, {"", "1", Full, "f"}, {"1", "1", Quick, "q"},
	} {
		t.Setenv("QUICK", c.quick)
		t.Setenv("FULL", c.full)
		if got := SizeFromEnv(); got != c.want || Pick("q", "d", "f") != c.pick {
			t.Errorf("QUICK=%q FULL=%q: %v, Pick %q; want %v, %q", c.quick, c.full, got, Pick("q", "d", "f"), c.want, c.pick)
		}
	}
}

func TestMustPanicsWithTheError(t *testing.T) {
	if Must(3, nil) != 3 {
		t.Error("Must(3, nil) != 3")
	}
	boom := errors.New("boom")
	defer func() {
		if r := recover(); r != boom {
			t.Errorf("recovered %v, want the error", r)
		}
	}()
	Must(0, boom)
}

func TestTableHTMLEscapes(t *testing.T) {
	got := TableHTML([]string{"run", "γ"}, [][]string{{"<b>x</b>", "1 & 2"}})
	for _, want := range []string{"<th>γ</th>", "<td>&lt;b&gt;x&lt;/b&gt;</td>", "<td>1 &amp; 2</td>"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
}

func TestSavedDependsOnSizeAndKernel(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", "/tmp/k1")
	t.Setenv("QUICK", "1")
	if got := Saved("04-fig3.gob"); got != "/tmp/k1/qnlab-quick-04-fig3.gob" {
		t.Errorf("Saved = %q", got)
	}
}

func TestPathThinsLongRuns(t *testing.T) {
	var r lbfgs.Result
	for k := range 1000 {
		r.Iterates = append(r.Iterates, lbfgs.Iteration{X: []float64{float64(k), 0}, F: float64(k), Evals: 2 * k})
	}
	p := Path("gd", r)
	if len(p.X) > 301 || p.X[len(p.X)-1] != 999 {
		t.Errorf("path of 1000 iterates: %d points, last x %v", len(p.X), p.X[len(p.X)-1])
	}
	if f := FSeries("gd", r, true); f.X[10] != 20 || f.Y[10] != 10 {
		t.Errorf("FSeries by evaluations: x %v, y %v", f.X[10], f.Y[10])
	}
}

func TestRelErrMulVecMedianTime(t *testing.T) {
	if e := RelErr([]float64{3, 4.5}, []float64{3, 4}); math.Abs(e-0.1) > 1e-15 {
		t.Errorf("RelErr = %g, want 0.1", e)
	}
	A := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	if got := MulVec(A, []float64{1, 1}); got[0] != 3 || got[1] != 7 {
		t.Errorf("MulVec = %v", got)
	}
	calls := 0
	if d := MedianTime(5, func() { calls++ }); calls != 5 || d < 0 {
		t.Errorf("MedianTime: %d calls, %v", calls, d)
	}
}

func TestMemoComputesOncePerSession(t *testing.T) {
	calls := 0
	compute := func() map[string][]float64 { calls++; return map[string][]float64{"a": {1, 2.5}} }
	t.Setenv("GONB_TMP_DIR", "")
	Memo("x.gob", compute)
	Memo("x.gob", compute)
	if calls != 2 {
		t.Errorf("outside a notebook: %d calls, want 2 (no caching)", calls)
	}
	t.Setenv("GONB_TMP_DIR", t.TempDir())
	calls = 0
	first := Memo("x.gob", compute)
	second := Memo("x.gob", compute)
	if calls != 1 || second["a"][1] != 2.5 || len(first) != 1 {
		t.Errorf("in a session: %d calls, second read %v", calls, second)
	}
	t.Setenv("GONB_TMP_DIR", t.TempDir()) // a new session
	Memo("x.gob", compute)
	if calls != 2 {
		t.Errorf("a new session did not recompute (%d calls)", calls)
	}
}
