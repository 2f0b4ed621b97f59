package plots

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default sizes for notebook charts.
const (
	Width  = 22 * vg.Centimeter
	Height = 11 * vg.Centimeter
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
	useSans(p)
	p.Legend.Padding = vg.Points(2)
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = compactTicks{}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = decadeTicks{}
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
	return p, nil
}

// useSans sets every text of p in Liberation Sans (metrics of Arial, which SVG falls back to).
func useSans(p *plot.Plot) {
	for _, f := range []*font.Font{
		&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font,
	} {
		f.Typeface, f.Variant = "Liberation", "Sans"
	}
}

// compactTicks are gonum's default ticks labelled in the shortest form ("250", not "250.00").
type compactTicks struct{}

func (compactTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}

// decadeTicks marks every power of ten in range and labels at most about 8 of them, in steps of
// 1, 2, 5, 10, … decades, with one significant digit ("0.001", "1e-05", "1e+20").
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return plot.LogTicks{Prec: 1}.Ticks(lo, hi)
	}
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 50, 100} {
		if step = s; (e1-e0)/s <= 8 {
			break
		}
	}
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		v := math.Pow(10, float64(e))
		if v < lo || v > hi {
			continue
		}
		t := plot.Tick{Value: v}
		if e%step == 0 {
			t.Label = strconv.FormatFloat(v, 'g', 1, 64)
		}
		ticks = append(ticks, t)
	}
	if len(ticks) < 2 { // less than a decade: let gonum choose
		return plot.LogTicks{Prec: 2}.Ticks(lo, hi)
	}
	return ticks
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// SVG renders p at size w×h and returns the SVG document as a string.
//
// Layout differs from p.Save in one way: a legend with entries is drawn in a strip to the right
// of the axes, outside the data area, so that it never hides a line (gonum/plot draws it inside,
// over the data). The last x tick label also gets a small right margin, so it is not clipped.
func SVG(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	drawPlot(p, draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("plots: rendering SVG: %w", err)
	}
	return fontFallbacks.Replace(buf.String()), nil
}

// fontFallbacks gives the SVG's font families metric-compatible fallbacks: gonum/plot lays text
// out with the Liberation fonts' metrics, but names only them, and a browser without them would
// use its default font (often wider), so labels could overflow.
var fontFallbacks = strings.NewReplacer(
	"font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;",
	"font-family:Liberation Serif;", "font-family:'Liberation Serif','Times New Roman',Times,serif;",
	"font-family:Liberation Mono;", "font-family:'Liberation Mono','Courier New',Courier,monospace;",
)

// drawPlot draws p on dc with its legend (if any) to the right of the plot.
func drawPlot(p *plot.Plot, dc draw.Canvas) {
	margin := vg.Points(10)
	legend := p.Legend
	lr := legend.Rectangle(dc)
	// 15% slack: a browser without Liberation Sans or Arial draws wider text (DejaVu Sans).
	lw := (lr.Max.X - lr.Min.X) * 1.15
	if lw <= 0 {
		p.Draw(draw.Crop(dc, 0, -margin, 0, 0))
		return
	}
	q := *p // same axes and plotters, without the legend
	q.Legend = plot.NewLegend()
	q.Draw(draw.Crop(dc, 0, -(lw + 2*margin), 0, 0))

	// The legend's strip starts at the top of the axes (below the title).
	top := vg.Length(0)
	if p.Title.Text != "" {
		top = p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	legend.Top, legend.Left = true, true
	legend.XOffs, legend.YOffs = 0, 0
	legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-lw-margin, -margin/2, 0, -top))
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
