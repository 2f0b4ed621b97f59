package plots

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func chart(t *testing.T, logY bool) string {
	t.Helper()
	p, err := Lines("Convergence of L-BFGS", "iteration", "‖∇f‖", logY,
		Series{Name: "m=3", Y: []float64{1, 0.1, 0.01, 0, math.NaN()}},
		Series{Name: "m=10", X: []float64{0, 1, 2}, Y: []float64{1, 0.05, 1e-4}},
	)
	if err != nil {
		t.Fatal(err)
	}
	s, err := SVG(p, Width, Height)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSVGIsAnSVGDocumentWithTheTitle(t *testing.T) {
	for _, logY := range []bool{false, true} {
		s := chart(t, logY)
		if !strings.HasPrefix(s, "<svg") && !strings.HasPrefix(s, "<?xml") {
			t.Fatalf("logY=%v: SVG starts with %q", logY, s[:min(len(s), 40)])
		}
		for _, want := range []string{"<svg", "Convergence of L-BFGS", "iteration", "m=10", "</svg>"} {
			if !strings.Contains(s, want) {
				t.Errorf("logY=%v: SVG lacks %q", logY, want)
			}
		}
	}
}

func TestInlineSVGDropsTheXMLProlog(t *testing.T) {
	s := inlineSVG(chart(t, false))
	if !strings.HasPrefix(s, "<svg") {
		t.Fatalf("inline SVG starts with %q", s[:min(len(s), 40)])
	}
}

func TestLinesErrors(t *testing.T) {
	if _, err := Lines("t", "x", "y", false, Series{Name: "bad", X: []float64{1, 2}, Y: []float64{1}}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("mismatched lengths: got %v, want an error naming the series", err)
	}
	if _, err := Lines("empty", "x", "y", true, Series{Y: []float64{0, -1}}); err == nil {
		t.Error("log chart with no positive value: want an error")
	}
}

func TestWriteSVG(t *testing.T) {
	p, err := Lines("file", "x", "y", false, Series{Y: []float64{3, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.svg")
	if err := WriteSVG(path, p, Width, Height); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("file: %v, %.40q", err, b)
	}
}

func TestDisplayOutsideANotebookIsANoOp(t *testing.T) {
	p, err := Lines("t", "x", "y", false, Series{Y: []float64{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Display(p, Width, Height); err != nil {
		t.Fatal(err)
	}
}

func TestSVGNamesFontFallbacks(t *testing.T) {
	s := chart(t, false)
	if !strings.Contains(s, "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;") {
		t.Fatal("SVG text does not fall back to Arial/sans-serif")
	}
}

func TestSVGWithoutLegend(t *testing.T) {
	p, err := Lines("bare", "x", "y", false, Series{Y: []float64{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := SVG(p, Width, Height)
	if err != nil || !strings.Contains(s, "bare") {
		t.Fatalf("%v %.60q", err, s)
	}
}

func TestDecadeTicksLabelAtMostNine(t *testing.T) {
	for _, r := range [][2]float64{{1e-21, 10}, {1e-3, 1e3}, {0.5, 3}, {1e-300, 1e300}} {
		ticks := decadeTicks{}.Ticks(r[0], r[1])
		labels := 0
		for _, tk := range ticks {
			if tk.Label != "" {
				labels++
			}
		}
		if labels < 2 || labels > 9 {
			t.Errorf("range %v: %d labelled ticks (of %d)", r, labels, len(ticks))
		}
	}
}

func TestCompactTicks(t *testing.T) {
	for _, tk := range (compactTicks{}).Ticks(0, 5000) {
		if strings.Contains(tk.Label, ".00") {
			t.Errorf("tick label %q has trailing zeros", tk.Label)
		}
	}
}
