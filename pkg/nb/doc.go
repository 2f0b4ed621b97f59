// Package nb holds what every qnlab notebook needs, so that a notebook's first code cell is a
// few lines and its cells hold narrative, calls and plots:
//
//   - the render size from the environment (Size: QUICK=1, FULL=1, or the default) and Pick to
//     choose a workload per size;
//   - error helpers (Must, Must2, Check): a cell stops at its first error, with that error;
//   - display (Show for a chart, Table for an HTML table, Markdown), through GoNB's gonbui;
//   - Saved, a file in the kernel's temporary directory for results one cell computes and the
//     next ones plot (each cell is a separate program);
//   - small plot series of an optimisation run (Path, FSeries).
//
// Nothing in qnlab imports this package: it is the notebooks' side of the seam.
//
// # References
//
// GoNB (github.com/janpfeifer/gonb) v0.11.4, gonbui: DisplayHTML, DisplayMarkdown, Sync.
package nb
