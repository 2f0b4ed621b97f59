// Package plots holds small helpers over gonum.org/v1/plot for the course notebooks and the
// qnlab command: build a line chart (Lines), render any plot to an SVG string (SVG) or file
// (WriteSVG), and, in a GoNB notebook, show it inline (Display, in display.go).
//
// SVG is chosen because it is text: nbconvert inlines it into the rendered HTML page, so the
// course site needs no image files and no CDN.
//
// # References
//
//   - gonum.org/v1/plot v0.17.0; GoNB v0.11.4's gonbui (DisplaySvg).
package plots
