// Command nbcheck reports every failing cell of executed Jupyter notebooks run by GoNB.
//
//	go run ./scripts/nbcheck [-lines N] NOTEBOOK.ipynb|DIR ...
//
// A cell fails if it has an error output, if its stderr shows a panic, a compile error or an
// "exit status N" (N ≠ 0; GoNB's only sign of a failing `!` shell line), if it carries GoNB's
// HTML error box, or if its execution_count is null (it never ran). For each failing cell it
// prints the notebook, the cell's position, In [n] and id, the first line of its source, and the
// error with the last lines of its trace. A directory means the *.ipynb files in it.
//
// The closing line is "nbcheck: P passed, F failed" over non-empty code cells. The exit status is
// 0 when no cell failed, 1 when some did, 2 when a notebook cannot be read or none was given.
// It needs only the Go standard library (no Python, no PyPI).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nbcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	maxLines := fs.Int("lines", 20, "trace lines to print per failing cell (the last ones)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nbcheck [-lines N] NOTEBOOK.ipynb|DIR ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var files []string
	for _, a := range fs.Args() {
		st, err := os.Stat(a)
		if err != nil {
			fmt.Fprintf(stderr, "nbcheck: %v\n", err)
			return 2
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(a, "*.ipynb"))
		sort.Strings(m)
		files = append(files, m...)
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "nbcheck: no notebooks to check")
		fs.Usage()
		return 2
	}
	passed, failed, broken := 0, 0, 0
	for _, f := range files {
		res, err := CheckFile(f, *maxLines)
		if err != nil {
			fmt.Fprintf(stderr, "nbcheck: %v\n", err)
			broken++
			continue
		}
		for _, fl := range res.Failures {
			fmt.Fprint(stdout, fl.Format())
		}
		passed += res.CodeCells - len(res.Failures)
		failed += len(res.Failures)
		status := "ok"
		if len(res.Failures) > 0 {
			status = "FAILED"
		}
		fmt.Fprintf(stdout, "nbcheck: %s: %d code cells, %d failing: %s\n", res.Notebook, res.CodeCells, len(res.Failures), status)
	}
	fmt.Fprintf(stdout, "nbcheck: %d passed, %d failed\n", passed, failed)
	switch {
	case broken > 0:
		return 2
	case failed > 0:
		return 1
	}
	return 0
}
