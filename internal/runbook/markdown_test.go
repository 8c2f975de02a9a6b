package runbook

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestRenderHTML pins the output for the constructs runbooks use. It is
// CommonMark's and GFM's rendering: ***e*** is <em><strong>, the inner of
// two nested links wins, a | inside a table cell's code is written \|.
func TestRenderHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"heading", "# 障害対応 ##", "<h1>障害対応</h1>\n"},
		{"heading levels", "### three\n###### six", "<h3>three</h3>\n<h6>six</h6>\n"},
		{"not a heading", "#hashtag", "<p>#hashtag</p>\n"},
		{"setext", "Title\n===\nSub\n---", "<h1>Title</h1>\n<h2>Sub</h2>\n"},
		{"paragraphs", "a\nb\n\nc", "<p>a\nb</p>\n<p>c</p>\n"},
		{"hard break", "a  \nb\\\nc", "<p>a<br>\nb<br>\nc</p>\n"},
		{"emphasis", "*a* _b_ **c** __d__ ***e*** ~~f~~", "<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong> <em><strong>e</strong></em> <del>f</del></p>\n"},
		{"nested emphasis", "*a **b** c*", "<p><em>a <strong>b</strong> c</em></p>\n"},
		{"intraword underscore", "snake_case_name and 2*3*4", "<p>snake_case_name and 2<em>3</em>4</p>\n"},
		{"unclosed emphasis", "a * b ** c _d", "<p>a * b ** c _d</p>\n"},
		{"code span", "run `rm -rf <dir> && echo \"x\"` now", "<p>run <code>rm -rf &lt;dir&gt; &amp;&amp; echo &quot;x&quot;</code> now</p>\n"},
		{"code span backticks", "``a ` b``", "<p><code>a ` b</code></p>\n"},
		{"code span no emphasis", "`*x*`", "<p><code>*x*</code></p>\n"},
		{"escapes", `\*not em\* \[x\] \\`, "<p>*not em* [x] \\</p>\n"},
		{"bullet list", "- a\n- b\n  - c\n- d", "<ul>\n<li>a</li>\n<li>b\n<ul>\n<li>c</li>\n</ul>\n</li>\n<li>d</li>\n</ul>\n"},
		{"star list", "* a\n* b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"ordered list", "1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"ordered start", "3) c\n4) d", "<ol start=\"3\">\n<li>c</li>\n<li>d</li>\n</ol>\n"},
		{"loose list", "- a\n\n- b", "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>\n"},
		{"list item with code", "1. run:\n   ```\n   ls\n   ```\n2. done", "<ol>\n<li>run:\n<pre><code>ls\n</code></pre>\n</li>\n<li>done</li>\n</ol>\n"},
		{"list ends at paragraph after blank", "- a\n\nnext", "<ul>\n<li>a</li>\n</ul>\n<p>next</p>\n"},
		{"fenced code", "```bash\necho <hi> & bye\n```", "<pre><code class=\"language-bash\">echo &lt;hi&gt; &amp; bye\n</code></pre>\n"},
		{"tilde fence unclosed", "~~~\na\n\nb", "<pre><code>a\n\nb\n</code></pre>\n"},
		{"fence keeps markdown", "```\n# not a heading\n- no list\n```", "<pre><code># not a heading\n- no list\n</code></pre>\n"},
		{"indented code", "    x := 1\n    y", "<pre><code>x := 1\ny\n</code></pre>\n"},
		{"hr", "a\n\n***\n\n- - -", "<p>a</p>\n<hr>\n<hr>\n"},
		{"blockquote", "> a\n> > b", "<blockquote>\n<p>a</p>\n<blockquote>\n<p>b</p>\n</blockquote>\n</blockquote>\n"},
		{"table", "| a | b |\n|---|:-:|\n| 1 | `2\\|3` |", "<table>\n<thead>\n<tr>\n<th>a</th>\n<th style=\"text-align: center\">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td style=\"text-align: center\"><code>2|3</code></td>\n</tr>\n</tbody>\n</table>\n"},
		{"link", `[docs](https://example.com/a?b=1&c=2 "Title")`, "<p><a href=\"https://example.com/a?b=1&amp;c=2\" title=\"Title\" rel=\"nofollow noopener noreferrer\">docs</a></p>\n"},
		{"relative link", "[other](../db/failover.md#steps)", "<p><a href=\"../db/failover.md#steps\" rel=\"nofollow noopener noreferrer\">other</a></p>\n"},
		{"mailto", "[mail](mailto:ops@example.com)", "<p><a href=\"mailto:ops@example.com\" rel=\"nofollow noopener noreferrer\">mail</a></p>\n"},
		{"link with parens", "[w](https://en.wikipedia.org/wiki/Go_(language))", "<p><a href=\"https://en.wikipedia.org/wiki/Go_(language)\" rel=\"nofollow noopener noreferrer\">w</a></p>\n"},
		{"link text markup", "[**b** `c`](/x)", "<p><a href=\"/x\" rel=\"nofollow noopener noreferrer\"><strong>b</strong> <code>c</code></a></p>\n"},
		{"no nested links", "[a [b](/b)](/a)", "<p>[a <a href=\"/b\" rel=\"nofollow noopener noreferrer\">b</a>](/a)</p>\n"},
		{"autolink", "<https://example.com/x>", "<p><a href=\"https://example.com/x\" rel=\"nofollow noopener noreferrer\">https://example.com/x</a></p>\n"},
		{"email autolink", "<ops@example.com>", "<p><a href=\"mailto:ops@example.com\" rel=\"nofollow noopener noreferrer\">ops@example.com</a></p>\n"},
		{"bare url", "see https://example.com/status.", "<p>see <a href=\"https://example.com/status\" rel=\"nofollow noopener noreferrer\">https://example.com/status</a>.</p>\n"},
		{"image becomes link", `![graph](https://example.com/g.png)`, "<p><a href=\"https://example.com/g.png\" rel=\"nofollow noopener noreferrer\">graph</a></p>\n"},
		{"brackets without link", "[x] done [ ]", "<p>[x] done [ ]</p>\n"},
		{"japanese", "**再起動**してください。「nginx」", "<p><strong>再起動</strong>してください。「nginx」</p>\n"},
		{"tabs", "-\ta\n\tb", "<ul>\n<li>a\nb</li>\n</ul>\n"},
		{"crlf", "a\r\nb\r\n\r\nc", "<p>a\nb</p>\n<p>c</p>\n"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderHTML(tc.in)
			if got != tc.want {
				t.Fatalf("RenderHTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			checkSafe(t, got)
		})
	}
}

func TestRenderHTMLXSS(t *testing.T) {
	tests := []struct {
		name, in string
		mustNot  []string // substrings (case-insensitive) that must not appear
		must     []string
	}{
		{"script tag", "<script>alert(1)</script>", []string{"<script"}, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"script block", "<script>\nalert(1)\n</script>\n\nok", []string{"<script"}, nil},
		{"img onerror", `<img src=x onerror="alert(1)">`, []string{"<img"}, []string{"&lt;img"}},
		{"svg", "<svg/onload=alert(1)>", []string{"<svg"}, nil},
		{"iframe", "<iframe src=javascript:alert(1)></iframe>", []string{"<iframe"}, nil},
		{"javascript link", "[x](javascript:alert(1))", []string{"href", "javascript:"}, []string{"<p>x</p>"}},
		{"javascript mixed case", "[x](JaVaScRiPt:alert(1))", []string{"href"}, nil},
		{"javascript leading space", "[x]( javascript:alert(1))", []string{"href"}, nil},
		{"javascript angle", "[x](<javascript:alert(1)>)", []string{"href"}, nil},
		{"javascript tab", "[x](java\tscript:alert(1))", []string{"href=\"java"}, nil},
		{"javascript entity", "[x](javascript&#58;alert(1))", []string{"href=\"javascript&#58;", "href=\"javascript:"}, nil},
		{"javascript escape", `[x](javascript\:alert(1))`, []string{"href"}, nil},
		{"vbscript", "[x](vbscript:msgbox(1))", []string{"href"}, nil},
		{"data url", "[x](data:text/html;base64,PHNjcmlwdD4=)", []string{"href"}, nil},
		{"data image", "![x](data:image/svg+xml,<svg onload=alert(1)>)", []string{"href", "<svg", "<img"}, nil},
		{"javascript autolink", "<javascript:alert(1)>", []string{"href"}, []string{"&lt;javascript:alert(1)&gt;"}},
		{"file url", "[x](file:///etc/passwd)", []string{"href"}, nil},
		{"attribute injection href", `[x](https://a/"onmouseover="alert(1))`, []string{`"onmouseover`}, []string{`&quot;onmouseover=&quot;`}},
		{"attribute injection title", `[x](/a "t\" onmouseover=\"alert(1)")`, []string{`" onmouseover`}, nil},
		{"attribute injection single quote title", `[x](/a 't' onclick='x')`, []string{"onclick='x'"}, nil},
		{"attribute injection fence info", "```js\" onload=\"alert(1)\nx\n```", []string{"onload"}, []string{`<code class="language-js">`}},
		{"attribute injection link text", `[" onclick="x](/a)`, []string{`" onclick`}, nil},
		{"html in code span", "`<script>`", []string{"<script"}, []string{"<code>&lt;script&gt;</code>"}},
		{"html in heading", "# <b onclick=x>h</b>", []string{"<b "}, nil},
		{"html in table", "| <script>x</script> |\n|---|\n| <img src=x> |", []string{"<script", "<img"}, nil},
		{"html in list", "- <a href=javascript:x>y</a>", []string{"<a href=javascript"}, nil},
		{"html comment", "<!-- x --><style>body{}</style>", []string{"<!--", "<style"}, nil},
		{"nul and bad utf8", "a\x00<\xffscript>", []string{"<script", "\x00"}, nil},
		{"bare javascript", "javascript:alert(1)", []string{"href"}, nil},
		{"bare url quote", `https://a.example/"><script>x</script>`, []string{"<script", `/">`}, nil},
		{"style attribute not passed", "| a |\n|:-:|\n| b |", []string{"expression"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderHTML(tc.in)
			lower := strings.ToLower(got)
			for _, bad := range tc.mustNot {
				if strings.Contains(lower, strings.ToLower(bad)) {
					t.Errorf("output contains %q:\n%s", bad, got)
				}
			}
			for _, want := range tc.must {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			checkSafe(t, got)
		})
	}
}

// checkSafe parses out as a browser would and fails on any element or
// attribute outside the renderer's vocabulary, or an unsafe href.
func checkSafe(t *testing.T, out string) {
	t.Helper()
	tags := map[string]bool{"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "p": true, "br": true,
		"ul": true, "ol": true, "li": true, "blockquote": true, "pre": true, "code": true, "hr": true, "em": true,
		"strong": true, "del": true, "a": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true}
	attrs := map[string]bool{"href": true, "title": true, "rel": true, "class": true, "start": true, "style": true}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.CommentToken, html.DoctypeToken:
			t.Fatalf("comment/doctype in output: %s", out)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if !tags[tok.Data] {
				t.Fatalf("element <%s> in output:\n%s", tok.Data, out)
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] {
					t.Fatalf("attribute %s on <%s>:\n%s", a.Key, tok.Data, out)
				}
				switch a.Key {
				case "href":
					if _, ok := SafeURL(a.Val); !ok {
						t.Fatalf("unsafe href %q:\n%s", a.Val, out)
					}
				case "style":
					if !strings.HasPrefix(a.Val, "text-align: ") {
						t.Fatalf("style %q", a.Val)
					}
				case "class":
					if strings.ContainsAny(a.Val, "\"'<> ") {
						t.Fatalf("class %q", a.Val)
					}
				}
			}
		}
	}
}

func TestSafeURL(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want string
	}{
		{"https://example.com", true, "https://example.com"},
		{"HTTP://EXAMPLE.COM", true, "HTTP://EXAMPLE.COM"},
		{"mailto:a@b", true, "mailto:a@b"},
		{"/x/y?z=1", true, "/x/y?z=1"},
		{"x.md#a:b", true, "x.md#a:b"},
		{"?q=a:b", true, "?q=a:b"},
		{"a b", true, "a%20b"},
		{"javascript:alert(1)", false, ""},
		{" javascript:x", false, ""},
		{"jav\nascript:x", false, ""},
		{"data:x", false, ""},
		{"tel:123", false, ""},
		{":x", false, ""},
		{"", false, ""},
		{"https://a\x7f", false, ""},
	}
	for _, tc := range tests {
		got, ok := SafeURL(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("SafeURL(%q) = %q, %v", tc.in, got, ok)
		}
	}
}

// Pathological input must render in reasonable time and stay safe.
func TestRenderHTMLPathological(t *testing.T) {
	inputs := pathological()
	for _, in := range inputs {
		checkSafe(t, RenderHTML(in))
	}
}

func pathological() []string {
	return []string{
		strings.Repeat("[", 50000),
		strings.Repeat("*a ", 20000),
		strings.Repeat("_", 50000),
		strings.Repeat("`", 50000),
		strings.Repeat("> ", 5000) + "x",
		strings.Repeat("- ", 5000) + "x",
		strings.Repeat("**a ", 20000),
		strings.Repeat("[a](", 20000),
		strings.Repeat("    - a\n", 5000),
		strings.Repeat("- > ", 10000) + "x",
		strings.Repeat("[", 20000) + strings.Repeat("](/x)", 20000),
		strings.Repeat("<a@", 30000),
		strings.Repeat("http://", 20000),
		strings.Repeat("```\n", 20000),
		// At the largest size a runbook may have: the shapes that cost
		// goldmark the square of their length without guard.
		strings.Repeat("[a](", MaxSize/4),
		strings.Repeat("[ ", MaxSize/2),
		strings.Repeat("- > ", MaxSize/4),
	}
}

func TestGuard(t *testing.T) {
	deep := strings.Repeat("> ", maxBlockDepth+3) + "x"
	if got := guard(deep); got != strings.Repeat("> ", maxBlockDepth)+`\`+strings.Repeat("> ", 3)+"x" {
		t.Errorf("nesting not limited: %q", got)
	}
	ok := strings.Repeat("- ", maxBlockDepth) + "x"
	if got := guard(ok); got != ok {
		t.Errorf("nesting within the limit changed: %q", got)
	}
	fenced := "```\n" + deep + "\n" + strings.Repeat("[", maxBrackets+5) + "\n```\n"
	if got := guard(fenced); got != fenced {
		t.Errorf("fenced code changed: %q", got)
	}
	word := strings.Repeat("[a](", maxLinkPart/4+1)
	if got := guard(word); strings.Contains(got, "](") {
		t.Errorf("long word keeps link destinations: %q…", got[:40])
	}
	if got := guard("[a](/x) and [b](/y)"); got != "[a](/x) and [b](/y)" {
		t.Errorf("short words changed: %q", got)
	}
	para := strings.Repeat("[x] ", maxBrackets+2) + "\n\n[y](/y)"
	got := RenderHTML(para)
	if strings.Count(got, `\[`) != 0 || !strings.Contains(got, `<a href="/y"`) {
		t.Errorf("bracket limit leaks backslashes or spans paragraphs:\n%s", got[len(got)-200:])
	}
}

// BenchmarkRenderHTMLPathological reports the cost of each hostile input
// (they must stay roughly linear: compare with -benchtime runs of twice the
// size when changing the renderer).
func BenchmarkRenderHTMLPathological(b *testing.B) {
	for i, in := range pathological() {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for range b.N {
				RenderHTML(in)
			}
		})
	}
}

func FuzzRenderHTML(f *testing.F) {
	for _, s := range []string{"# a", "[x](javascript:y)", "<script>", "- a\n  - b", "```\nx\n```", "*a **b** c*", "| a |\n|---|\n| b |"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSafe(t, RenderHTML(s))
	})
}
