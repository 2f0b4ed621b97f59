package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture writes two notebooks and their pages as nbconvert renders them (a third notebook is
// not rendered) and returns the site and notebooks directories.
func fixture(t *testing.T) (out, notebooks string) {
	t.Helper()
	root := t.TempDir()
	out, notebooks = filepath.Join(root, "site"), filepath.Join(root, "notebooks")
	for _, d := range []string{out, notebooks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nb := func(name, heading, summary string, cmds ...string) {
		doc := map[string]any{
			"cells": []any{
				map[string]any{"cell_type": "markdown", "source": []string{"# " + heading + "\n", "\n", "Text.\n"}},
				map[string]any{"cell_type": "code", "source": []string{"func main() {}\n"}},
			},
			"metadata": map[string]any{"qnlab": map[string]any{"summary": summary, "commands": cmds}},
		}
		data, _ := json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(notebooks, name+".ipynb"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nb("01_a", "1. First chapter", "The first one.", "qnlab direction -in pairs.json")
	nb("02_b", "2. Second & last", "The second one.")
	nb("03_c", "3. Not rendered", "")
	page := func(name, title, section, id string) {
		html := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>` + name + `</title>
<script>var x = "<a href=\"nowhere.html\">";</script></head>
<body class="jp-Notebook" data-jp-theme-light="true">
<main><div class="jp-Cell"><h1 id="` + title + `">` + title + `<a class="anchor-link" href="#` + title + `">¶</a></h1>
<p>Intro text about the two-loop recursion.</p>
<h2 id="` + id + `">` + section + `<a class="anchor-link" href="#` + id + `">¶</a></h2>
<p>Powell damping keeps pairs positive.</p><svg><text>not indexed</text></svg></div></main>
</body></html>`
		if err := os.WriteFile(filepath.Join(out, name+".html"), []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page("01_a", "1.-First-chapter", "Damping (N&amp;W 18.2)", "Damping-(N&amp;W-18.2)")
	page("02_b", "2.-Second", "A ⊗ G", "A-%E2%8A%97-G")
	return out, notebooks
}

func buildFixture(t *testing.T) string {
	t.Helper()
	out, notebooks := fixture(t)
	var chapters []Chapter
	for _, f := range []string{"01_a.ipynb", "02_b.ipynb", "03_c.ipynb"} {
		c, err := ReadChapter(notebooks, f)
		if err != nil {
			t.Fatal(err)
		}
		chapters = append(chapters, c)
	}
	if err := Build(out, notebooks, chapters, "quick"); err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSiteNavigation: every page gets the sidebar with every rendered chapter, previous/next
// links and its notebook's download; the index introduces each chapter; every link resolves.
func TestSiteNavigation(t *testing.T) {
	out := buildFixture(t)
	a, b := read(t, filepath.Join(out, "01_a.html")), read(t, filepath.Join(out, "02_b.html"))
	for _, c := range []struct {
		page, want string
	}{
		{a, `<li class="qn-current"><span>1. First chapter</span></li>`},
		{a, `<li><a href="02_b.html">2. Second &amp; last</a></li>`},
		{a, `<a rel="next" href="02_b.html">2. Second &amp; last →</a>`},
		{a, `<a rel="prev" href="index.html">← Contents</a>`},
		{a, `href="notebooks/01_a.ipynb" download`},
		{a, `class="jp-Notebook qn-page"`},
		{b, `<a rel="prev" href="01_a.html">← 1. First chapter</a>`},
		{b, `<a rel="next" href="index.html">Contents →</a>`},
		{b, `action="search.html"`},
	} {
		if !strings.Contains(c.page, c.want) {
			t.Errorf("page lacks %s", c.want)
		}
	}
	if strings.Contains(a, "03_c.html") {
		t.Error("the sidebar links the chapter that was not rendered")
	}
	index := read(t, filepath.Join(out, "index.html"))
	for _, want := range []string{"The first one.", "<code>qnlab direction -in pairs.json</code>", `href="01_a.html"`, "3. Not rendered", "(not rendered)"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if strings.Contains(index, "<ol>") {
		t.Error("the index numbers the chapters again (their titles carry the number)")
	}
	if got, want := read(t, filepath.Join(out, "notebooks", "02_b.ipynb")), read(t, filepath.Join(out, "..", "notebooks", "02_b.ipynb")); got != want {
		t.Error("the downloadable notebook differs from the source")
	}
	broken, err := CheckLinks(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(broken) > 0 {
		t.Errorf("broken links: %v", broken)
	}
}

// TestSearchIndex: the index holds each page's sections with their anchors, and no script or
// drawing text.
func TestSearchIndex(t *testing.T) {
	out := buildFixture(t)
	js := read(t, filepath.Join(out, "search-index.js"))
	js = strings.TrimSuffix(strings.TrimPrefix(js, "window.QNLAB_SEARCH = "), ";\n")
	var entries []searchEntry
	if err := json.Unmarshal([]byte(js), &entries); err != nil {
		t.Fatalf("search-index.js is not the expected JSON: %v", err)
	}
	found := false
	for _, e := range entries {
		if strings.Contains(e.Text, "not indexed") || strings.Contains(e.Text, "nowhere") {
			t.Errorf("indexed script or SVG text: %+v", e)
		}
		if e.Page == "01_a.html" && e.Section == "Damping (N&W 18.2)" && e.Anchor == "Damping-(N&W-18.2)" && strings.Contains(e.Text, "Powell damping") {
			found = true
		}
	}
	if !found {
		t.Errorf("no entry for 01_a's section on damping: %+v", entries)
	}
	if !strings.Contains(read(t, filepath.Join(out, "search.html")), `<script src="search-index.js">`) {
		t.Error("search.html does not load the index")
	}
}

// TestCheckLinksFindsBrokenOnes: a missing file and a missing anchor are reported; building a
// decorated site twice is refused.
func TestCheckLinksFindsBrokenOnes(t *testing.T) {
	out := buildFixture(t)
	p := filepath.Join(out, "02_b.html")
	page := read(t, p)
	page = strings.Replace(page, "</main>", `<a href="gone.html">x</a><a href="01_a.html#no-such-id">y</a></main>`, 1)
	if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	broken, err := CheckLinks(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(broken) != 2 || !strings.Contains(broken[0]+broken[1], "gone.html") || !strings.Contains(broken[0]+broken[1], "no-such-id") {
		t.Errorf("broken = %v, want the missing file and the missing anchor", broken)
	}
	chapters := []Chapter{{Name: "01_a", Title: "1"}}
	if err := Build(out, filepath.Join(out, "..", "notebooks"), chapters, ""); err == nil || !strings.Contains(err.Error(), "already has the navigation") {
		t.Errorf("second Build: %v, want a refusal", err)
	}
}
