package plots

import (
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Display renders p as SVG and shows it inline in the GoNB notebook running this cell.
// Outside a notebook it does nothing and returns nil.
//
// The cell must still call `defer gonbui.Sync()` (in main), or an output can be lost when the
// cell's program exits before GoNB has read it.
func Display(p *plot.Plot, w, h vg.Length) error {
	s, err := SVG(p, w, h)
	if err != nil {
		return err
	}
	gonbui.DisplaySvg(inlineSVG(s))
	return gonbui.Error()
}

// inlineSVG drops what precedes the <svg> element (the XML prolog and a generator comment),
// which has no meaning inside an HTML page.
func inlineSVG(s string) string {
	if i := strings.Index(s, "<svg"); i > 0 {
		return s[i:]
	}
	return s
}
