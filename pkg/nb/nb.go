package nb

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"

	"qnlab/internal/enum"
	"qnlab/pkg/firstorder"
	"qnlab/pkg/lbfgs"
	"qnlab/pkg/plots"
)

// Size is how large a render's workloads are.
type Size int

const (
	// Default is the course as `make html` renders it.
	Default Size = iota
	// Quick (QUICK=1) is seconds per notebook: `make test` renders with it.
	Quick
	// Full (FULL=1) is the papers' sizes: slow.
	Full
)

var sizeNames = enum.Names[Size]{Default: "default", Quick: "quick", Full: "full"}

func (s Size) String() string { return sizeNames.String(s, "Size") }

// SizeFromEnv returns Quick if QUICK is set, else Full if FULL is set, else Default.
func SizeFromEnv() Size {
	switch {
	case os.Getenv("QUICK") != "":
		return Quick
	case os.Getenv("FULL") != "":
		return Full
	}
	return Default
}

// Pick returns quick, def or full for the environment's size.
func Pick[T any](quick, def, full T) T {
	switch SizeFromEnv() {
	case Quick:
		return quick
	case Full:
		return full
	}
	return def
}

// Must returns v, or panics with err: a notebook cell stops at its first error.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Must2 is Must for functions with two results.
func Must2[T, U any](a T, b U, err error) (T, U) {
	Check(err)
	return a, b
}

// Check panics with err if it is not nil.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}

// Show displays a chart inline at plots.Width × plots.Height, or panics with err.
func Show(p *plot.Plot, err error) {
	Check(err)
	Check(plots.Display(p, plots.Width, plots.Height))
}

// TableHTML renders a table: a header row and the rows, every cell escaped.
func TableHTML(header []string, rows [][]string) string {
	var sb strings.Builder
	sb.WriteString(`<table style="font-size: 90%; margin: 0.5em 0"><tr>`)
	for _, h := range header {
		fmt.Fprintf(&sb, "<th>%s</th>", html.EscapeString(h))
	}
	sb.WriteString("</tr>")
	for _, row := range rows {
		sb.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(&sb, "<td>%s</td>", html.EscapeString(c))
		}
		sb.WriteString("</tr>")
	}
	return sb.String() + "</table>"
}

// Table displays TableHTML(header, rows) inline.
func Table(header []string, rows [][]string) { gonbui.DisplayHTML(TableHTML(header, rows)) }

// Markdown displays Markdown inline.
func Markdown(md string) { gonbui.DisplayMarkdown(md) }

// Saved returns the path of a file called name (e.g. "04-fig3.gob") for the given size in the
// kernel's own temporary directory (GONB_TMP_DIR, else the system's), so that two renders at the
// same time do not share files and a quick render never reads a default one's.
func Saved(name string) string {
	dir := os.Getenv("GONB_TMP_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, fmt.Sprintf("qnlab-%s-%s", SizeFromEnv(), name))
}

// Agrees words a check of a claim against its source: "**agrees** with the paper".
func Agrees(ok bool) string { return AgreesWith(ok, "the paper") }

// AgreesWith is Agrees for another source: AgreesWith(ok, "the lecture").
func AgreesWith(ok bool, source string) string {
	if ok {
		return "**agrees** with " + source
	}
	return "**does not agree** with " + source
}

// Path returns the iterates of a 2-D run as a plot series, thinned to at most 300 points
// (gradient descent's thousands of tiny steps would only make the page heavy).
func Path(name string, r lbfgs.Result) plots.Series {
	s := plots.Series{Name: name}
	stride := max(1, (len(r.Iterates)+299)/300) // ⌈n/300⌉
	for k, it := range r.Iterates {
		if len(it.X) >= 2 && (k%stride == 0 || k == len(r.Iterates)-1) {
			s.X, s.Y = append(s.X, it.X[0]), append(s.Y, it.X[1])
		}
	}
	return s
}

// FSeries returns f(x_k) by iteration, or by evaluation count if byEvals.
func FSeries(name string, r lbfgs.Result, byEvals bool) plots.Series {
	s := plots.Series{Name: name}
	for k, it := range r.Iterates {
		x := float64(k)
		if byEvals {
			x = float64(it.Evals)
		}
		s.X, s.Y = append(s.X, x), append(s.Y, it.F)
	}
	return s
}

// TrajPath returns the first two coordinates of a first-order run's iterates as a plot series,
// thinned to at most 300 points, as Path.
func TrajPath(name string, tr *firstorder.Trajectory) plots.Series {
	s := plots.Series{Name: name}
	stride := max(1, (len(tr.X)+299)/300)
	for k, x := range tr.X {
		if len(x) >= 2 && (k%stride == 0 || k == len(tr.X)-1) {
			s.X, s.Y = append(s.X, x[0]), append(s.Y, x[1])
		}
	}
	return s
}

// TrajF returns f(θ_k) by update k of a first-order run, thinned to at most 500 points (the
// first and last kept).
func TrajF(name string, tr *firstorder.Trajectory) plots.Series {
	s := plots.Series{Name: name}
	stride := max(1, (len(tr.F)+499)/500)
	for k, f := range tr.F {
		if k%stride == 0 || k == len(tr.F)-1 {
			s.X, s.Y = append(s.X, float64(k)), append(s.Y, f)
		}
	}
	return s
}

// RelErr returns ‖a − b‖₂ / ‖b‖₂, the relative error of a against the reference b.
func RelErr(a, b []float64) float64 {
	var num, den float64
	for i := range b {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

// MulVec returns A·x.
func MulVec(A mat.Matrix, x []float64) []float64 {
	var v mat.VecDense
	v.MulVec(A, mat.NewVecDense(len(x), x))
	return v.RawVector().Data
}

// MedianTime runs f n times and returns the median duration (a timing robust to one slow run).
func MedianTime(n int, f func()) time.Duration {
	ts := make([]time.Duration, n)
	for i := range ts {
		t0 := time.Now()
		f()
		ts[i] = time.Since(t0)
	}
	slices.Sort(ts)
	return ts[n/2]
}
