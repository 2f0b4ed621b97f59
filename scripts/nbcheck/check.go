package main

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// How GoNB v0.11.4 reports a failing cell (seen in executed notebooks, see testdata/):
//
//   - compile error: a display_data whose text/html is GoNB's error box (CSS classes gonb-err-*)
//     holding go build's messages ("Cell[2]: Line 2 ./main.go:5:7: undefined: x"), then an error
//     output {ename: "ERROR", evalue: `failed to run ".../go build -o ...": exit status 1`}.
//     The compiler's messages are only in that HTML.
//   - a failing automatic `go get` (an import it cannot resolve): the same, with
//     `failed to run ".../go get"`.
//   - panic: a stderr stream "panic: …\n\ngoroutine 1 [running]: … exit status 2", an HTML box
//     locating the panic in the cell, and an error output {ERROR, "exit status 2"}.
//   - os.Exit(n), n ≠ 0: a stderr stream "exit status n" and an error output {ERROR, "exit status n"}.
//   - a failing `!cmd` / `!*cmd` shell line: only a stderr stream ending "exit status n": no error
//     output, and nbconvert does not stop or fail for it.
//   - a cell interrupted on timeout (nbconvert --ExecutePreprocessor.interrupt_on_timeout):
//     stderr "signal: interrupt" and an error output {ERROR, "signal: interrupt"}.
// Text written to stderr by a cell that then exits 0 (warnings, logs) is not a failure.

// Notebook is the part of an .ipynb (nbformat 4) that the checker reads.
type Notebook struct {
	Cells []Cell `json:"cells"`
}

// Cell is one notebook cell.
type Cell struct {
	ID             string    `json:"id"`
	CellType       string    `json:"cell_type"`
	Source         multiline `json:"source"`
	ExecutionCount *int      `json:"execution_count"`
	Outputs        []Output  `json:"outputs"`
}

// Output is one output of a code cell.
type Output struct {
	OutputType string               `json:"output_type"`
	Name       string               `json:"name"` // stream: "stdout" or "stderr"
	Text       multiline            `json:"text"`
	Data       map[string]multiline `json:"data"`
	Ename      string               `json:"ename"`
	Evalue     string               `json:"evalue"`
	Traceback  []string             `json:"traceback"`
}

// multiline is nbformat's multi-line string: a string or a list of strings to be joined.
type multiline string

func (m *multiline) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = multiline(s)
		return nil
	}
	var parts []string
	if err := json.Unmarshal(b, &parts); err != nil {
		// Some MIME types (application/json) hold objects: not text, ignore.
		*m = ""
		return nil
	}
	*m = multiline(strings.Join(parts, ""))
	return nil
}

// Failure is one failing cell.
type Failure struct {
	Notebook  string   // file name
	Index     int      // 1-based position of the cell in the notebook (all cell types)
	Execution *int     // its execution count (GoNB's "Cell[n]"), if any
	ID        string   // nbformat cell id, if any
	FirstLine string   // first non-blank line of the cell's source
	Reasons   []string // short: "error output", "panic", "exit status 1", "compile error", …
	Details   []string // the error and the last lines of its trace
}

// Result is the outcome of checking one notebook.
type Result struct {
	Notebook  string
	CodeCells int // non-empty code cells
	Failures  []Failure
}

// CheckFile reads an executed notebook and checks it.
func CheckFile(path string, maxLines int) (Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	var nb Notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return Result{}, fmt.Errorf("%s: not a notebook: %w", path, err)
	}
	return Check(filepath.Base(path), &nb, maxLines), nil
}

// Check returns every failing code cell of an executed notebook. maxLines bounds the trace
// lines kept per cell (the last ones are kept).
func Check(name string, nb *Notebook, maxLines int) Result {
	res := Result{Notebook: name}
	for i, c := range nb.Cells {
		if c.CellType != "code" || strings.TrimSpace(string(c.Source)) == "" {
			continue // nbclient does not execute empty cells
		}
		res.CodeCells++
		reasons, details := checkCell(&c)
		if len(reasons) == 0 {
			continue
		}
		res.Failures = append(res.Failures, Failure{
			Notebook:  name,
			Index:     i + 1,
			Execution: c.ExecutionCount,
			ID:        c.ID,
			FirstLine: firstLine(string(c.Source)),
			Reasons:   reasons,
			Details:   tail(details, maxLines),
		})
	}
	return res
}

var (
	ansiRE       = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	exitStatusRE = regexp.MustCompile(`(?m)^(exit status [1-9][0-9]*|signal: [a-z ]+)$`)
	compileRE    = regexp.MustCompile(`(?m)^\S+\.go:\d+:\d+: `)
	tagRE        = regexp.MustCompile(`<[^>]*>`)
	styleRE      = regexp.MustCompile(`(?s)<style>.*?</style>`)
)

func checkCell(c *Cell) (reasons, details []string) {
	add := func(r string) {
		for _, have := range reasons {
			if have == r {
				return
			}
		}
		reasons = append(reasons, r)
	}
	if c.ExecutionCount == nil {
		add("not executed")
		details = append(details, "execution_count is null: the cell did not run (kernel died or the run stopped early?)")
	}
	var stderr strings.Builder
	var gonbHTML []string
	var errors []Output
	for _, o := range c.Outputs {
		switch o.OutputType {
		case "stream":
			if o.Name == "stderr" {
				stderr.WriteString(ansiRE.ReplaceAllString(string(o.Text), ""))
			}
		case "display_data", "execute_result":
			if h, ok := o.Data["text/html"]; ok && strings.Contains(string(h), "gonb-err-") {
				gonbHTML = append(gonbHTML, gonbErrorText(string(h))...)
			}
		case "error":
			errors = append(errors, o)
		}
	}
	se := stderr.String()
	panicAt := strings.Index(se, "panic:")
	switch {
	case panicAt >= 0:
		add("panic")
		details = append(details, lines(se[panicAt:])...)
	case exitStatusRE.MatchString(se) || compileRE.MatchString(se):
		// A failing shell line (no error output follows), or an exit after printing to stderr.
		details = append(details, lines(se)...)
	}
	if compileRE.MatchString(se) {
		add("compile error")
	}
	if m := exitStatusRE.FindAllString(se, -1); len(m) > 0 {
		add(m[len(m)-1])
	}
	if len(gonbHTML) > 0 {
		if panicAt < 0 { // for a panic the stderr trace above says more than the HTML box
			details = append(details, gonbHTML...)
		}
		joined := strings.Join(gonbHTML, "\n")
		switch {
		case strings.Contains(joined, "go build") || regexp.MustCompile(`\.go:\d+:\d+: `).MatchString(joined):
			add("compile error")
		case strings.Contains(joined, "go get"):
			add("go get failed")
		}
	}
	for _, e := range errors {
		add("error output")
		details = append(details, fmt.Sprintf("%s: %s", e.Ename, ansiRE.ReplaceAllString(e.Evalue, "")))
		var tb []string
		for _, t := range e.Traceback {
			tb = append(tb, lines(ansiRE.ReplaceAllString(t, ""))...)
		}
		if len(tb) > 0 && !(len(tb) == 1 && strings.Contains(details[len(details)-1], tb[0])) {
			details = append(details, tail(tb, 10)...)
		}
		if strings.Contains(e.Evalue, "signal: interrupt") {
			details = append(details, "(the cell was interrupted: a timeout, see the render log)")
		}
	}
	return reasons, details
}

// gonbErrorText extracts the messages from GoNB's HTML error box: one line per
// <div style="white-space: pre-wrap;">, without the hidden source context.
func gonbErrorText(h string) []string {
	h = styleRE.ReplaceAllString(h, "")
	var out []string
	for _, part := range strings.Split(h, `<div style="white-space: pre-wrap;">`)[1:] {
		if i := strings.Index(part, `<div class="gonb-err-context">`); i >= 0 {
			part = part[:i]
		}
		t := strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(part, "")))
		if t != "" {
			out = append(out, strings.Join(strings.Fields(t), " "))
		}
	}
	return out
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimRight(l, " \t\r"))
		}
	}
	return out
}

func tail(ls []string, n int) []string {
	if n <= 0 || len(ls) <= n {
		return ls
	}
	return append([]string{fmt.Sprintf("… (%d lines above)", len(ls)-n)}, ls[len(ls)-n:]...)
}

func firstLine(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// Format writes a failure as the report prints it.
func (f Failure) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FAIL %s cell %d", f.Notebook, f.Index)
	var tags []string
	if f.Execution != nil {
		tags = append(tags, fmt.Sprintf("In [%d]", *f.Execution))
	}
	if f.ID != "" {
		tags = append(tags, fmt.Sprintf("id %q", f.ID))
	}
	if len(tags) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(tags, ", "))
	}
	fmt.Fprintf(&b, ": %s\n", strings.Join(f.Reasons, ", "))
	fmt.Fprintf(&b, "  source: %s\n", f.FirstLine)
	for _, d := range f.Details {
		fmt.Fprintf(&b, "  | %s\n", d)
	}
	return b.String()
}
