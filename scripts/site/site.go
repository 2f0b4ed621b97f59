// Command site turns the pages that nbconvert rendered (one NAME.html per notebook in a directory)
// into a course site: a sidebar with every chapter on every page, previous/next links, the
// chapter's notebook to download (copied into the site as notebooks/NAME.ipynb), a full-text
// search, and an index page that introduces the course and each chapter in a sentence with the
// headless commands that reproduce its numbers. It then checks every link of the site.
//
//	site -out DIR -notebooks DIR NAME.ipynb ...
//
// A chapter's sentence and commands come from its notebook's metadata, "qnlab": {"summary":
// "…", "commands": ["qnlab …", …]}; its title from its first Markdown heading.
//
// The search is a prebuilt index loaded by a <script> tag (search-index.js) and a small page
// (search.html) that filters it in the browser: it works from file:// as well as from a static
// server. Pagefind (npm) was the alternative; it fetches its index and a WebAssembly module,
// which browsers refuse from file://. The HTML is nbconvert's own, so plain pattern matching
// over its tags is enough here (no HTML parser in the module's dependencies).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Chapter is one notebook of the course.
type Chapter struct {
	Name     string   // file name without .ipynb
	Title    string   // its first Markdown heading
	Summary  string   // metadata.qnlab.summary
	Commands []string // metadata.qnlab.commands
	Rendered bool     // NAME.html exists in the site
}

// Page is the file name of the chapter's page.
func (c Chapter) Page() string { return c.Name + ".html" }

// Notebook is the site-relative path of the chapter's notebook.
func (c Chapter) Notebook() string { return "notebooks/" + c.Name + ".ipynb" }

var headingRE = regexp.MustCompile(`(?m)^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$`)

// ReadChapter reads notebooks/NAME.ipynb's title and metadata.
func ReadChapter(notebooks, file string) (Chapter, error) {
	data, err := os.ReadFile(filepath.Join(notebooks, file))
	if err != nil {
		return Chapter{}, err
	}
	var nb struct {
		Cells []struct {
			CellType string          `json:"cell_type"`
			Source   json.RawMessage `json:"source"`
		} `json:"cells"`
		Metadata struct {
			Qnlab struct {
				Summary  string   `json:"summary"`
				Commands []string `json:"commands"`
			} `json:"qnlab"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		return Chapter{}, fmt.Errorf("%s: %w", file, err)
	}
	c := Chapter{Name: strings.TrimSuffix(file, ".ipynb"), Summary: nb.Metadata.Qnlab.Summary, Commands: nb.Metadata.Qnlab.Commands}
	c.Title = c.Name
	for _, cell := range nb.Cells {
		if cell.CellType != "markdown" {
			continue
		}
		var lines []string
		var one string
		if json.Unmarshal(cell.Source, &lines) != nil {
			if json.Unmarshal(cell.Source, &one) != nil {
				continue
			}
			lines = []string{one}
		}
		if m := headingRE.FindStringSubmatch(strings.Join(lines, "")); m != nil {
			c.Title = m[1]
			break
		}
	}
	return c, nil
}

func main() {
	out := flag.String("out", "site", "the site's directory (holding nbconvert's NAME.html pages)")
	notebooks := flag.String("notebooks", "notebooks", "the directory of the source notebooks")
	mode := flag.String("mode", "", "a note for the index's footer (e.g. how the notebooks were run)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "site: no notebooks named (site -out DIR -notebooks DIR NAME.ipynb ...)")
		os.Exit(2)
	}
	var chapters []Chapter
	for _, f := range flag.Args() {
		c, err := ReadChapter(*notebooks, filepath.Base(f))
		if err != nil {
			fmt.Fprintln(os.Stderr, "site:", err)
			os.Exit(2)
		}
		chapters = append(chapters, c)
	}
	if err := Build(*out, *notebooks, chapters, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "site:", err)
		os.Exit(1)
	}
	broken, err := CheckLinks(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "site:", err)
		os.Exit(1)
	}
	if len(broken) > 0 {
		for _, b := range broken {
			fmt.Fprintln(os.Stderr, "site: broken link:", b)
		}
		os.Exit(1)
	}
	fmt.Printf("site: %d chapter(s), navigation, downloads and search in %s; every link resolves\n", len(chapters), *out)
}

// Build adds the navigation to every rendered chapter page in out, copies the notebooks, writes
// the search index, search.html and index.html.
func Build(out, notebooks string, chapters []Chapter, mode string) error {
	if err := os.MkdirAll(filepath.Join(out, "notebooks"), 0o755); err != nil {
		return err
	}
	var rendered []Chapter
	for i := range chapters {
		_, err := os.Stat(filepath.Join(out, chapters[i].Page()))
		chapters[i].Rendered = err == nil
		if chapters[i].Rendered {
			rendered = append(rendered, chapters[i])
		}
		data, err := os.ReadFile(filepath.Join(notebooks, chapters[i].Name+".ipynb"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, chapters[i].Notebook()), data, 0o644); err != nil {
			return err
		}
	}
	var entries []searchEntry
	for i, c := range rendered {
		p := filepath.Join(out, c.Page())
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		page := string(data)
		if strings.Contains(page, navMarker) {
			return fmt.Errorf("%s already has the navigation (render the notebook again)", c.Page())
		}
		entries = append(entries, sections(c, page)...)
		var prev, next *Chapter
		if i > 0 {
			prev = &rendered[i-1]
		}
		if i+1 < len(rendered) {
			next = &rendered[i+1]
		}
		page, err = decorate(page, c, chapters, prev, next)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Page(), err)
		}
		if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
			return err
		}
	}
	index, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "search-index.js"), []byte("window.QNLAB_SEARCH = "+string(index)+";\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "search.html"), []byte(searchPage(chapters)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "index.html"), []byte(indexPage(chapters, mode)), 0o644)
}

// navMarker marks a page that has the navigation.
const navMarker = "<!-- qnlab-site-nav -->"

const style = `<style>
.qn-side { position: fixed; top: 0; left: 0; bottom: 0; width: 15.5rem; overflow-y: auto; padding: 1rem .9rem;
  background: #f6f7f9; border-right: 1px solid #dde; font: 14px/1.45 system-ui, sans-serif; z-index: 10; box-sizing: border-box; }
.qn-side a { color: #1565c0; text-decoration: none; } .qn-side a:hover { text-decoration: underline; }
.qn-side .qn-home { font-weight: 600; font-size: 15px; display: block; margin-bottom: .6rem; }
.qn-side ul { list-style: none; padding: 0; margin: .6rem 0; } .qn-side li { margin: .35rem 0; }
.qn-side li.qn-current { font-weight: 600; } .qn-side li.qn-current span { color: #222; }
.qn-side form input { width: 100%; box-sizing: border-box; padding: .3rem; font: inherit; }
.qn-side .qn-download { display: block; margin-top: .8rem; }
body.qn-page { margin-left: 15.5rem !important; }
.qn-pager { display: flex; justify-content: space-between; gap: 1rem; margin: 1rem 2rem; font: 14px system-ui, sans-serif; }
.qn-pager a { color: #1565c0; text-decoration: none; }
@media (max-width: 800px) { .qn-side { position: static; width: auto; } body.qn-page { margin-left: 0 !important; } }
</style>`

// decorate adds the style, the sidebar and the pagers to one page.
func decorate(page string, c Chapter, all []Chapter, prev, next *Chapter) (string, error) {
	head := strings.Index(page, "</head>")
	body := regexp.MustCompile(`<body([^>]*)>`).FindStringSubmatchIndex(page)
	end := strings.LastIndex(page, "</body>")
	if head < 0 || body == nil || end < 0 || !(head < body[0] && body[1] <= end) {
		return "", errors.New("not an nbconvert page (no </head>, <body> and </body> in order)")
	}
	attrs := page[body[2]:body[3]]
	if m := regexp.MustCompile(`class="([^"]*)"`).FindStringSubmatchIndex(attrs); m != nil {
		attrs = attrs[:m[3]] + " qn-page" + attrs[m[3]:]
	} else {
		attrs += ` class="qn-page"`
	}
	var side strings.Builder
	side.WriteString(navMarker + "\n<nav class=\"qn-side\" aria-label=\"course\">\n")
	side.WriteString(`<a class="qn-home" href="index.html">qnlab: quasi-Newton methods</a>` + "\n")
	side.WriteString(`<form action="search.html" method="get" role="search"><input name="q" type="search" placeholder="Search the course" aria-label="search"></form>` + "\n<ul>\n")
	for _, o := range all {
		switch {
		case o.Name == c.Name:
			fmt.Fprintf(&side, "<li class=\"qn-current\"><span>%s</span></li>\n", html.EscapeString(o.Title))
		case o.Rendered:
			fmt.Fprintf(&side, "<li><a href=\"%s\">%s</a></li>\n", pathEscape(o.Page()), html.EscapeString(o.Title))
		}
	}
	fmt.Fprintf(&side, "</ul>\n<a class=\"qn-download\" href=\"%s\" download>Download this notebook (.ipynb)</a>\n</nav>\n", pathEscape(c.Notebook()))
	pager := pagerHTML(prev, next)
	out := page[:head] + style + "\n" + page[head:body[0]] + "<body" + attrs + ">\n" + side.String() + pager +
		page[body[1]:end] + pager + page[end:]
	return out, nil
}

func pagerHTML(prev, next *Chapter) string {
	var b strings.Builder
	b.WriteString(`<div class="qn-pager">`)
	if prev != nil {
		fmt.Fprintf(&b, `<a rel="prev" href="%s">← %s</a>`, pathEscape(prev.Page()), html.EscapeString(prev.Title))
	} else {
		b.WriteString(`<a rel="prev" href="index.html">← Contents</a>`)
	}
	if next != nil {
		fmt.Fprintf(&b, `<a rel="next" href="%s">%s →</a>`, pathEscape(next.Page()), html.EscapeString(next.Title))
	} else {
		b.WriteString(`<a rel="next" href="index.html">Contents →</a>`)
	}
	b.WriteString("</div>\n")
	return b.String()
}

func pathEscape(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// searchEntry is one section of a page: the text under a heading, up to the next one.
type searchEntry struct {
	Page    string `json:"page"`
	Chapter string `json:"chapter"`
	Section string `json:"section"`
	Anchor  string `json:"anchor"`
	Text    string `json:"text"`
}

var (
	scriptRE  = regexp.MustCompile(`(?is)<(script|style|svg)\b.*?</(script|style|svg)>`)
	tagRE     = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
	hTagRE    = regexp.MustCompile(`(?is)<h([1-3])\b[^>]*\bid="([^"]*)"[^>]*>(.*?)</h[1-3]>`)
	anchorSym = regexp.MustCompile(`¶`)
)

// text strips tags, scripts, styles and SVG drawings and collapses white space.
func text(s string) string {
	s = scriptRE.ReplaceAllString(s, " ")
	s = tagRE.ReplaceAllString(s, " ")
	s = anchorSym.ReplaceAllString(html.UnescapeString(s), "")
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// sections cuts a page into its h1–h3 sections (the text before the first heading belongs to
// the page itself).
func sections(c Chapter, page string) []searchEntry {
	body := page
	if i := strings.Index(page, "<body"); i >= 0 {
		body = page[i:]
	}
	body = scriptRE.ReplaceAllString(body, " ")
	heads := hTagRE.FindAllStringSubmatchIndex(body, -1)
	var out []searchEntry
	add := func(section, anchor, chunk string) {
		if t := text(chunk); t != "" {
			out = append(out, searchEntry{Page: c.Page(), Chapter: c.Title, Section: section, Anchor: anchor, Text: t})
		}
	}
	if len(heads) == 0 {
		add(c.Title, "", body)
		return out
	}
	add(c.Title, "", body[:heads[0][0]])
	for i, h := range heads {
		end := len(body)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		add(text(body[h[6]:h[7]]), html.UnescapeString(body[h[4]:h[5]]), body[h[1]:end])
	}
	return out
}

// CheckLinks returns every link of every .html page in dir (href and src attributes) that does
// not resolve: a relative path to a missing file, or a #fragment that no id (or name) in the
// target page carries. External links (with a scheme) are not followed.
func CheckLinks(dir string) ([]string, error) {
	pages, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil {
		return nil, err
	}
	ids := map[string]map[string]bool{}
	idsOf := func(p string) (map[string]bool, error) {
		if m, ok := ids[p]; ok {
			return m, nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		m := map[string]bool{}
		for _, x := range regexp.MustCompile(`\b(?:id|name)="([^"]*)"`).FindAllStringSubmatch(string(data), -1) {
			id := html.UnescapeString(x[1])
			m[id] = true
			if u, err := url.PathUnescape(id); err == nil {
				m[u] = true
			}
		}
		ids[p] = m
		return m, nil
	}
	attrRE := regexp.MustCompile(`\b(?:href|src)="([^"]*)"`)
	var broken []string
	sort.Strings(pages)
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		// Links inside scripts are code, not links.
		for _, m := range attrRE.FindAllStringSubmatch(scriptRE.ReplaceAllString(string(data), " "), -1) {
			ref := html.UnescapeString(m[1])
			u, err := url.Parse(ref)
			if err != nil {
				broken = append(broken, fmt.Sprintf("%s: %q: %v", filepath.Base(p), ref, err))
				continue
			}
			if u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "data:") || ref == "" {
				continue
			}
			target := p
			if u.Path != "" {
				target = filepath.Join(filepath.Dir(p), filepath.FromSlash(u.Path))
				if _, err := os.Stat(target); err != nil {
					broken = append(broken, fmt.Sprintf("%s: %s: no such file", filepath.Base(p), ref))
					continue
				}
			}
			if u.Fragment == "" || !strings.HasSuffix(target, ".html") {
				continue
			}
			m, err := idsOf(target)
			if err != nil {
				return nil, err
			}
			if !m[u.Fragment] && !m[u.EscapedFragment()] {
				broken = append(broken, fmt.Sprintf("%s: %s: no element with id %q", filepath.Base(p), ref, u.Fragment))
			}
		}
	}
	return broken, nil
}
