package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// grid samples f on a regular n×n grid; it implements plotter.GridXYZ.
type grid struct {
	xs, ys []float64
	z      [][]float64 // z[row][col] = f(xs[col], ys[row])
}

func (g *grid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g *grid) Z(c, r int) float64 { return g.z[r][c] }
func (g *grid) X(c int) float64    { return g.xs[c] }
func (g *grid) Y(r int) float64    { return g.ys[r] }
func (g *grid) minMax() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range g.z {
		for _, v := range row {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// Contour draws level curves of f over [xr[0], xr[1]] × [yr[0], yr[1]] (sampled on a 150×150
// grid) at the given levels, and overlays each path (the iterates of a method, X and Y their
// coordinates) as a line with a marker at every point. If levels is nil, 12 levels are spaced
// evenly between f's extremes on the grid.
func Contour(title string, f func(x, y float64) float64, xr, yr [2]float64, levels []float64, paths ...Series) (*plot.Plot, error) {
	if !(xr[1] > xr[0]) || !(yr[1] > yr[0]) {
		return nil, fmt.Errorf("plots: contour %q: empty range x %v, y %v", title, xr, yr)
	}
	const n = 150
	g := &grid{xs: make([]float64, n), ys: make([]float64, n), z: make([][]float64, n)}
	for i := range n {
		g.xs[i] = xr[0] + (xr[1]-xr[0])*float64(i)/(n-1)
		g.ys[i] = yr[0] + (yr[1]-yr[0])*float64(i)/(n-1)
	}
	for r := range n {
		g.z[r] = make([]float64, n)
		for c := range n {
			v := f(g.xs[c], g.ys[r])
			if !finite(v) {
				return nil, fmt.Errorf("plots: contour %q: f(%g, %g) = %g", title, g.xs[c], g.ys[r], v)
			}
			g.z[r][c] = v
		}
	}
	if levels == nil {
		lo, hi := g.minMax()
		for i := 1; i <= 12; i++ {
			levels = append(levels, lo+(hi-lo)*float64(i)/13)
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "x₁"
	p.Y.Label.Text = "x₂"
	c := plotter.NewContour(g, levels, moreland.SmoothBlueRed().Palette(len(levels)))
	p.Add(c)
	for i, s := range paths {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plots: path %d (%q) has %d x values and %d y values", i, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if finite(s.X[j]) && finite(s.Y[j]) {
				pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("plots: path %d (%q): %w", i, s.Name, err)
		}
		l.Color, sc.Color = plotutil.Color(i), plotutil.Color(i)
		l.Width = vg.Points(1.2)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(1.8)
		p.Add(l, sc)
		if s.Name != "" {
			p.Legend.Add(s.Name, l, sc)
		}
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xr[0], xr[1], yr[0], yr[1]
	p.Legend.Top = true
	return p, nil
}

// LogLevels returns n levels spaced evenly in log scale from lo to hi (both > 0).
func LogLevels(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo * math.Pow(hi/lo, float64(i)/float64(max(n-1, 1)))
	}
	return out
}
