package runbook

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// md is the one markdown converter of runbooks: CommonMark with GitHub's
// tables, strikethrough and bare-URL links. Raw HTML is never passed
// through (goldmark's default; never add html.WithUnsafe), and safeNodes below replaces the renderers
// of every node that could carry a URL or markup of the author's.
var md = goldmark.New(
	goldmark.WithExtensions(
		extension.Table,
		extension.Strikethrough,
		extension.NewLinkify(extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"})),
	),
	goldmark.WithRendererOptions(
		renderer.WithNodeRenderers(util.Prioritized(safeNodes{}, 0)),
		ghtml.WithWriter(quoteEscapingWriter{ghtml.DefaultWriter}),
	),
)

// RenderHTML renders markdown as HTML that is safe to put in a page:
// runbooks are written by customers and operators and the console must not
// run their scripts. It renders CommonMark plus GitHub's pipe tables,
// strikethrough and bare http(s) URLs. Raw HTML, inline or as a block, is
// shown as escaped text; link targets are limited to http, https, mailto
// and relative URLs by SafeURL (anything else, javascript: and data:
// included, renders the link's text alone). Images are rendered as links
// to the image, so that a runbook cannot load remote resources into the
// console, and every link carries rel="nofollow noopener noreferrer".
func RenderHTML(markdown string) string {
	s := strings.ToValidUTF8(markdown, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	var b bytes.Buffer
	if err := md.Convert([]byte(guard(s)), &b); err != nil {
		// Convert fails only when writing to b fails, which a
		// bytes.Buffer does not: show the text rather than nothing.
		return "<pre>" + escape(s) + "</pre>\n"
	}
	return b.String()
}

// SafeURL returns u if it is safe as a link target: http, https, mailto,
// or relative (no scheme). Control characters are refused and spaces
// encoded.
func SafeURL(u string) (string, bool) {
	u = strings.TrimSpace(u)
	if u == "" {
		return "", false
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return "", false
		}
	}
	u = strings.ReplaceAll(u, " ", "%20")
	if i := strings.IndexAny(u, ":/?#"); i >= 0 && u[i] == ':' {
		switch strings.ToLower(u[:i]) {
		case "http", "https", "mailto":
		default:
			return "", false
		}
	}
	return u, true
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func escape(s string) string { return htmlEscaper.Replace(s) }

// safeNodes renders the nodes whose default rendering would trust the
// author: links, autolinks, images, raw HTML and table cells.
type safeNodes struct{}

func (safeNodes) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(ast.KindFencedCodeBlock, renderFencedCode)
	reg.Register(east.KindTableCell, renderTableCell)
}

// openLink writes <a …> for a safe destination; it reports false (writing
// nothing) for an unsafe one, whose text is then rendered alone.
func openLink(w util.BufWriter, dest, title []byte) bool {
	href, ok := SafeURL(string(dest))
	if !ok {
		return false
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.WriteString(escape(href))
	_ = w.WriteByte('"')
	if len(title) > 0 {
		_, _ = w.WriteString(` title="`)
		_, _ = w.WriteString(escape(string(title)))
		_ = w.WriteByte('"')
	}
	_, _ = w.WriteString(` rel="nofollow noopener noreferrer">`)
	return true
}

// linkOpened remembers, per link node, whether <a> was written on entry.
const linkOpened = "mamori-link-opened"

func renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	if entering {
		n.SetAttributeString(linkOpened, openLink(w, n.Destination, n.Title))
		return ast.WalkContinue, nil
	}
	if v, _ := n.AttributeString(linkOpened); v == true {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// renderImage writes a link to the image, its alt text as the link's text.
func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Image)
	if entering {
		n.SetAttributeString(linkOpened, openLink(w, n.Destination, n.Title))
		return ast.WalkContinue, nil
	}
	if v, _ := n.AttributeString(linkOpened); v == true {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	label := n.Label(source)
	dest := n.URL(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(dest), []byte("mailto:")) {
		dest = append([]byte("mailto:"), dest...)
	}
	if !openLink(w, dest, nil) {
		// Only <scheme:…> autolinks can be unsafe (bare URLs are
		// linked for http and https alone): show them as written.
		_, _ = w.WriteString(escape("<" + string(label) + ">"))
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(escape(string(label)))
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

// renderRawHTML shows inline HTML as the text it is.
func renderRawHTML(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	segs := node.(*ast.RawHTML).Segments
	for i := range segs.Len() {
		seg := segs.At(i)
		_, _ = w.WriteString(escape(string(seg.Value(source))))
	}
	return ast.WalkSkipChildren, nil
}

// renderHTMLBlock shows an HTML block as an escaped paragraph.
func renderHTMLBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.HTMLBlock)
	var text strings.Builder
	for i := range n.Lines().Len() {
		line := n.Lines().At(i)
		text.Write(line.Value(source))
	}
	if n.HasClosure() {
		text.Write(n.ClosureLine.Value(source))
	}
	_, _ = w.WriteString("<p>")
	_, _ = w.WriteString(escape(strings.TrimRight(text.String(), "\n")))
	_, _ = w.WriteString("</p>\n")
	return ast.WalkContinue, nil
}

// renderTableCell writes <th>/<td> with the column's alignment as a fixed
// style; author-given attributes are never rendered.
func renderTableCell(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*east.TableCell)
	tag := "td"
	if n.Parent() != nil && n.Parent().Kind() == east.KindTableHeader {
		tag = "th"
	}
	if !entering {
		_, _ = w.WriteString("</" + tag + ">\n")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<" + tag)
	if n.Alignment != east.AlignNone {
		_, _ = w.WriteString(` style="text-align: ` + n.Alignment.String() + `"`)
	}
	_ = w.WriteByte('>')
	return ast.WalkContinue, nil
}

// renderFencedCode writes a fenced block; its info string's first word
// becomes the language class only if it is a plain word.
func renderFencedCode(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	_, _ = w.WriteString("<pre><code")
	if lang := languageWord(n.Language(source)); lang != "" {
		_, _ = w.WriteString(` class="language-` + lang + `"`)
	}
	_ = w.WriteByte('>')
	for i := range n.Lines().Len() {
		line := n.Lines().At(i)
		_, _ = w.WriteString(escape(string(line.Value(source))))
	}
	return ast.WalkContinue, nil
}

// languageWord keeps the leading letters, digits and + - . _ # of an info
// string ("js\" onload=…" gives "js").
func languageWord(info []byte) string {
	for i, c := range info {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-._#", c) >= 0
		if !ok {
			return string(info[:i])
		}
	}
	return string(info)
}

// quoteEscapingWriter is goldmark's text writer that also escapes the
// single quote, as every other character of the author's that could close
// an attribute is.
type quoteEscapingWriter struct{ ghtml.Writer }

func (q quoteEscapingWriter) Write(w util.BufWriter, source []byte) {
	q.Writer.Write(quoteEscaping{w}, source)
}

func (q quoteEscapingWriter) RawWrite(w util.BufWriter, source []byte) {
	q.Writer.RawWrite(quoteEscaping{w}, source)
}

func (q quoteEscapingWriter) SecureWrite(w util.BufWriter, source []byte) {
	q.Writer.SecureWrite(quoteEscaping{w}, source)
}

// quoteEscaping writes &#39; for every ' written through it.
type quoteEscaping struct{ util.BufWriter }

func (q quoteEscaping) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\'') < 0 {
		return q.BufWriter.Write(p)
	}
	if _, err := q.BufWriter.Write(bytes.ReplaceAll(p, []byte("'"), []byte("&#39;"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (q quoteEscaping) WriteString(s string) (int, error) { return q.Write([]byte(s)) }

func (q quoteEscaping) WriteByte(c byte) error {
	if c == '\'' {
		_, err := q.BufWriter.WriteString("&#39;")
		return err
	}
	return q.BufWriter.WriteByte(c)
}

func (q quoteEscaping) WriteRune(r rune) (int, error) {
	if r == '\'' {
		return q.BufWriter.WriteString("&#39;")
	}
	return q.BufWriter.WriteRune(r)
}
