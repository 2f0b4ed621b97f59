// Package plots holds small helpers over gonum.org/v1/plot for the course notebooks and the
// qnlab command: build a line chart (Lines), render any plot to an SVG string (SVG) or file
// (WriteSVG), and, in a GoNB notebook, show it inline (Display, in display.go).
//
// SVG is chosen because it is text: nbconvert inlines it into the rendered HTML page, so the
// course site needs no image files and no CDN.
package plots

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Default sizes for notebook charts.
const (
	Width  = 16 * vg.Centimeter
	Height = 10 * vg.Centimeter
)

// Series is one named line of a chart: Y[i] plotted against X[i].
// If X is nil, the points are plotted against their index 0, 1, 2, ….
type Series struct {
	Name string
	X, Y []float64
}

// Lines builds a line chart with one line per series, a legend (when any series has a name),
// and a logarithmic y axis if logY is set.
//
// Points that cannot be drawn are skipped rather than failing the chart: non-finite values
// (NaN, ±Inf, e.g. a diverged run) and, with logY, values ≤ 0 (e.g. a gradient norm that
// reached exactly 0). It is an error if X and Y differ in length, or if no series has a single
// point left to draw.
func Lines(title, xlabel, ylabel string, logY bool, series ...Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: 1} // one significant digit: 0.001, 1e-05 (not 9.999999999999999e-05)
	}
	drawn := 0
	for i, s := range series {
		if s.X != nil && len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plots: series %d (%q) has %d x values and %d y values", i, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, 0, len(s.Y))
		for j, y := range s.Y {
			x := float64(j)
			if s.X != nil {
				x = s.X[j]
			}
			if !finite(x) || !finite(y) || (logY && y <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("plots: series %d (%q): %w", i, s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
		drawn++
	}
	if drawn == 0 {
		return nil, fmt.Errorf("plots: chart %q has no drawable points in %d series", title, len(series))
	}
	p.Legend.Top = true
	return p, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// SVG renders p at size w×h and returns the SVG document as a string.
func SVG(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", fmt.Errorf("plots: rendering SVG: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("plots: rendering SVG: %w", err)
	}
	return buf.String(), nil
}

// WriteSVG renders p at size w×h into the file path (for the qnlab command).
func WriteSVG(path string, p *plot.Plot, w, h vg.Length) error {
	s, err := SVG(p, w, h)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	return nil
}
