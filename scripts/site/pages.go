package main

import (
	"fmt"
	"html"
	"strings"
	"time"
)

const pageStyle = `<style>
body { font-family: system-ui, sans-serif; max-width: 50em; margin: 2.5em auto; padding: 0 1em; line-height: 1.55; color: #222; }
h1 { font-weight: 600; } a { color: #1565c0; text-decoration: none; } a:hover { text-decoration: underline; }
.chapter { margin: 1.4em 0; } .chapter h2 { font-size: 1.15em; margin: 0 0 .2em; font-weight: 600; }
.chapter p { margin: .2em 0; } code { background: #f3f3f5; padding: 0 .25em; border-radius: 3px; font-size: .9em; }
.cmds { color: #555; font-size: .92em; } .f { color: #888; font-size: .85em; } footer { color: #888; font-size: .85em; margin-top: 3em; }
form input { width: 100%; box-sizing: border-box; padding: .45em; font: inherit; }
.hit { margin: 1em 0; } .hit .where { color: #888; font-size: .85em; } mark { background: #fff3a0; }
</style>`

// indexPage introduces the course and each chapter.
func indexPage(chapters []Chapter, mode string) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qnlab: quasi-Newton methods</title>
` + pageStyle + `</head>
<body>
<h1>qnlab: quasi-Newton methods</h1>
<p>A course on quasi-Newton methods and the optimizers of neural networks, built on four source texts:
an L-BFGS paper (the BFGS update, the two-loop recursion, a CNN on MNIST), a lecture on neural-network
optimizers, an article on why deep learning avoids Newton methods, and a note on explicit superlinear
rates of BFGS. Every chapter is a Jupyter notebook in Go (the GoNB kernel), executed to make this page:
every number and figure below a chapter's title is computed by its own runs, and every chapter's
numbers can be reproduced headless with the <code>qnlab</code> command (<code>go run ./cmd/qnlab</code>
from the repository).</p>
<form action="search.html" method="get" role="search"><input name="q" type="search" placeholder="Search the course" aria-label="search"></form>
`)
	for _, c := range chapters {
		b.WriteString(`<div class="chapter">` + "\n")
		if c.Rendered {
			fmt.Fprintf(&b, "<h2><a href=\"%s\">%s</a></h2>\n", pathEscape(c.Page()), html.EscapeString(c.Title))
		} else {
			fmt.Fprintf(&b, "<h2>%s <span class=\"f\">(not rendered)</span></h2>\n", html.EscapeString(c.Title))
		}
		if c.Summary != "" {
			fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(c.Summary))
		}
		if len(c.Commands) > 0 {
			b.WriteString(`<p class="cmds">Headless: `)
			for i, cmd := range c.Commands {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "<code>%s</code>", html.EscapeString(cmd))
			}
			b.WriteString("</p>\n")
		}
		fmt.Fprintf(&b, "<p class=\"f\"><a href=\"%s\" download>%s.ipynb</a></p>\n</div>\n", pathEscape(c.Notebook()), html.EscapeString(c.Name))
	}
	when := time.Now().UTC().Format("2006-01-02 15:04 UTC")
	fmt.Fprintf(&b, "<footer>Rendered %s%s.</footer>\n</body></html>\n", when, map[bool]string{true: ", " + html.EscapeString(mode), false: ""}[mode != ""])
	return b.String()
}

// searchPage filters search-index.js in the browser: every word of the query must occur in a
// section (case-insensitive); sections are ranked by the number of occurrences.
func searchPage(chapters []Chapter) string {
	return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Search — qnlab</title>
` + pageStyle + `<script src="search-index.js"></script></head>
<body>
<p><a href="index.html">← Contents</a></p>
<h1>Search the course</h1>
<form action="search.html" method="get" role="search"><input id="q" name="q" type="search" placeholder="e.g. two-loop recursion, Powell damping, Fisher" aria-label="search" autofocus></form>
<div id="results"></div>
<script>
(function () {
  var index = window.QNLAB_SEARCH || [];
  var input = document.getElementById("q"), out = document.getElementById("results");
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; }); }
  function run() {
    var q = input.value.trim().toLowerCase();
    out.innerHTML = "";
    if (!q) return;
    var words = q.split(/\s+/), hits = [];
    index.forEach(function (e) {
      var t = (e.section + " " + e.text).toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) {
        var n = t.split(words[i]).length - 1;
        if (n === 0) return;
        score += n + (e.section.toLowerCase().indexOf(words[i]) >= 0 ? 5 : 0);
      }
      hits.push({e: e, score: score});
    });
    hits.sort(function (a, b) { return b.score - a.score; });
    var p = document.createElement("p");
    p.textContent = hits.length + (hits.length === 1 ? " section" : " sections") + " match.";
    out.appendChild(p);
    hits.slice(0, 40).forEach(function (h) {
      var e = h.e, low = e.text.toLowerCase(), at = low.indexOf(words[0]);
      var from = Math.max(0, at - 120), snip = e.text.substring(from, from + 300);
      var html = esc(snip);
      words.forEach(function (w) { if (w) html = html.replace(new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi"), function (m) { return "<mark>" + m + "</mark>"; }); });
      var d = document.createElement("div");
      d.className = "hit";
      var href = encodeURI(e.page) + (e.anchor ? "#" + e.anchor : "");
      d.innerHTML = '<a href="' + esc(href) + '">' + esc(e.section) + '</a> <span class="where">' + esc(e.chapter) + "</span><br>" + (from > 0 ? "… " : "") + html + " …";
      out.appendChild(d);
    });
  }
  var m = /[?&]q=([^&]*)/.exec(location.search);
  if (m) input.value = decodeURIComponent(m[1].replace(/\+/g, " "));
  input.addEventListener("input", run);
  run();
})();
</script>
</body></html>
`
}
