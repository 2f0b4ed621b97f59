package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/*.ipynb are real notebooks executed by GoNB v0.11.4 under
// `jupyter nbconvert --execute --allow-errors` (timeout.ipynb with a 5 s timeout and
// --ExecutePreprocessor.interrupt_on_timeout=True).

func TestFailingNotebookReportsEveryFailingCell(t *testing.T) {
	res, err := CheckFile("testdata/failing.ipynb", 20)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // cell id → a reason it must carry
		"compile-error": "compile error",
		"panic":         "panic",
		"exit-1":        "exit status 1",
		"shell-false":   "exit status 1",
		"go-get-fails":  "go get failed",
	}
	got := map[string]Failure{}
	for _, f := range res.Failures {
		got[f.ID] = f
	}
	for id, reason := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("cell %q not reported", id)
			continue
		}
		if !strings.Contains(strings.Join(f.Reasons, ","), reason) {
			t.Errorf("cell %q: reasons %v lack %q", id, f.Reasons, reason)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("cell %q reported but it passed (stderr output alone is not a failure)", id)
		}
	}
	if res.CodeCells != 8 {
		t.Errorf("CodeCells = %d, want 8", res.CodeCells)
	}
	// The report carries what a reader needs to find and fix the cell.
	f := got["compile-error"]
	text := f.Format()
	for _, s := range []string{"failing.ipynb cell 3", "In [2]", "source: // compile error", "undefined: undefinedThing"} {
		if !strings.Contains(text, s) {
			t.Errorf("compile-error report lacks %q:\n%s", s, text)
		}
	}
	if p := got["panic"].Format(); !strings.Contains(p, "panic: boom") || strings.Contains(p, "\x1b[") {
		t.Errorf("panic report lacks the panic message or keeps ANSI escapes:\n%s", p)
	}
}

func TestPassingNotebook(t *testing.T) {
	res, err := CheckFile("testdata/passing.ipynb", 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 || res.CodeCells != 3 {
		t.Fatalf("passing notebook: %d code cells, failures %+v", res.CodeCells, res.Failures)
	}
}

func TestTimeoutIsAFailure(t *testing.T) {
	res, err := CheckFile("testdata/timeout.ipynb", 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 || res.Failures[0].ID != "hang" {
		t.Fatalf("want the hanging cell reported, got %+v", res.Failures)
	}
}

func TestUnexecutedCellsFail(t *testing.T) {
	nb := `{"cells":[{"cell_type":"code","execution_count":null,"metadata":{},"outputs":[],"source":["x := 1"]},
	{"cell_type":"code","execution_count":null,"metadata":{},"outputs":[],"source":""}],"nbformat":4,"nbformat_minor":5}`
	path := filepath.Join(t.TempDir(), "n.ipynb")
	if err := os.WriteFile(path, []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := CheckFile(path, 20)
	if err != nil {
		t.Fatal(err)
	}
	if res.CodeCells != 1 || len(res.Failures) != 1 || res.Failures[0].Reasons[0] != "not executed" {
		t.Fatalf("got %+v", res)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
		line string
	}{
		{[]string{"testdata/passing.ipynb"}, 0, "nbcheck: 3 passed, 0 failed"},
		{[]string{"testdata/failing.ipynb"}, 1, "nbcheck: 3 passed, 5 failed"},
		{[]string{"testdata"}, 1, "nbcheck: 7 passed, 6 failed"},
		{[]string{"testdata/nosuch.ipynb"}, 2, ""},
		{nil, 2, ""},
	} {
		var out, errOut bytes.Buffer
		if got := run(tc.args, &out, &errOut); got != tc.want {
			t.Errorf("nbcheck %v: exit %d, want %d\n%s%s", tc.args, got, tc.want, out.String(), errOut.String())
		}
		if tc.line != "" && !strings.HasSuffix(out.String(), tc.line+"\n") {
			t.Errorf("nbcheck %v: output does not end with %q:\n%s", tc.args, tc.line, out.String())
		}
	}
}
