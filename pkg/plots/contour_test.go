package plots

import (
	"math"
	"strings"
	"testing"
)

func TestContourWithPath(t *testing.T) {
	f := func(x, y float64) float64 { return x*x + 4*y*y }
	p, err := Contour("bowl", f, [2]float64{-2, 2}, [2]float64{-1, 1}, LogLevels(0.01, 4, 6),
		Series{Name: "path", X: []float64{1.5, 0.5, 0}, Y: []float64{0.8, 0.1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := SVG(p, Width, Height)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "bowl") || !strings.Contains(s, "path") || strings.Count(s, "<path") < 10 {
		t.Errorf("contour SVG lacks the title, legend or curves (%d paths)", strings.Count(s, "<path"))
	}
	if _, err := Contour("bad", f, [2]float64{1, 1}, [2]float64{0, 1}, nil); err == nil {
		t.Error("empty x range accepted")
	}
	if _, err := Contour("nan", func(x, y float64) float64 { return math.Log(x) }, [2]float64{-1, 1}, [2]float64{-1, 1}, nil); err == nil {
		t.Error("non-finite f accepted")
	}
}

func TestLogLevels(t *testing.T) {
	l := LogLevels(1, 1000, 4)
	for i, want := range []float64{1, 10, 100, 1000} {
		if d := l[i] - want; d > 1e-9*want || d < -1e-9*want {
			t.Errorf("level %d = %g, want %g", i, l[i], want)
		}
	}
}
