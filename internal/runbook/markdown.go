package runbook

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RenderHTML renders markdown as HTML that is safe to put in a page:
// runbooks are written by customers and operators and the console must not
// run their scripts. It supports a small CommonMark/GFM subset — ATX and
// setext headings, paragraphs, hard line breaks, bullet and ordered lists
// (nested), block quotes, fenced and indented code blocks, thematic
// breaks, pipe tables, code spans, emphasis, strong, strikethrough, links,
// autolinks and bare http(s) URLs. Everything else, raw HTML included, is
// shown as text: every character of input that reaches the output is
// HTML-escaped, tags are only ever produced by the renderer, and link
// targets are limited to http, https, mailto and relative URLs (any other
// scheme, javascript: and data: included, is rendered as plain text).
// Images are rendered as links to the image, so that a runbook cannot load
// remote resources into the console.
func RenderHTML(markdown string) string {
	s := strings.ToValidUTF8(markdown, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.IndexByte(l, '\t') >= 0 {
			lines[i] = expandTabs(l)
		}
	}
	var b strings.Builder
	renderBlocks(&b, lines, false, 0)
	return b.String()
}

const (
	maxBlockDepth  = 24
	maxInlineDepth = 24
	maxLinkPart    = 4096 // longest link destination or title
)

func expandTabs(l string) string {
	var b strings.Builder
	col := 0
	for _, r := range l {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func escape(s string) string { return htmlEscaper.Replace(s) }

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func indentOf(l string) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

var (
	atxRE      = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ ]+(.*?))?[ ]*$`)
	hrRE       = regexp.MustCompile(`^ {0,3}(?:(?:\*[ ]*){3,}|(?:-[ ]*){3,}|(?:_[ ]*){3,})$`)
	fenceRE    = regexp.MustCompile("^( {0,3})(`{3,}|~{3,})[ ]*([^`]*?)[ ]*$")
	quoteRE    = regexp.MustCompile(`^ {0,3}> ?`)
	setext1RE  = regexp.MustCompile(`^ {0,3}=+[ ]*$`)
	setext2RE  = regexp.MustCompile(`^ {0,3}-+[ ]*$`)
	tableDelRE = regexp.MustCompile(`^ {0,3}\|?[ ]*:?-+:?[ ]*(\|[ ]*:?-+:?[ ]*)*\|?[ ]*$`)
	langRE     = regexp.MustCompile(`[^A-Za-z0-9_+#.-]`)
)

func atxHeading(l string) (level int, text string, ok bool) {
	m := atxRE.FindStringSubmatch(l)
	if m == nil {
		return 0, "", false
	}
	text = m[2]
	// closing sequence: " ###"
	if t := strings.TrimRight(text, "#"); t != text && (t == "" || strings.HasSuffix(t, " ")) {
		text = strings.TrimSpace(t)
	}
	return len(m[1]), text, true
}

type listMarker struct {
	ordered bool
	char    byte // '-', '*', '+', or '.' / ')' for ordered
	start   int
	indent  int // column where the item's content starts
	content string
}

func parseListItem(l string) (listMarker, bool) {
	var m listMarker
	i := indentOf(l)
	if i > 3 || i >= len(l) {
		return m, false
	}
	j := i
	switch c := l[i]; {
	case c == '-' || c == '*' || c == '+':
		m.char = c
		j++
	case c >= '0' && c <= '9':
		for j < len(l) && j-i < 9 && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		if j >= len(l) || (l[j] != '.' && l[j] != ')') {
			return m, false
		}
		m.ordered = true
		m.start, _ = strconv.Atoi(l[i:j])
		m.char = l[j]
		j++
	default:
		return m, false
	}
	if j < len(l) && l[j] != ' ' {
		return m, false
	}
	sp := 0
	for j+sp < len(l) && l[j+sp] == ' ' {
		sp++
	}
	switch {
	case j+sp == len(l): // empty item
		m.indent = j + 1
		m.content = ""
	case sp > 4: // indented code inside the item
		m.indent = j + 1
		m.content = l[j+1:]
	default:
		m.indent = j + sp
		m.content = l[j+sp:]
	}
	return m, true
}

func fenceOpen(l string) (indent int, fence, info string, ok bool) {
	m := fenceRE.FindStringSubmatch(l)
	if m == nil {
		return 0, "", "", false
	}
	return len(m[1]), m[2], m[3], true
}

// startsBlock reports whether l begins a block that interrupts a
// paragraph.
func startsBlock(l string) bool {
	if isBlank(l) {
		return true
	}
	if _, _, ok := atxHeading(l); ok {
		return true
	}
	if hrRE.MatchString(l) || quoteRE.MatchString(l) {
		return true
	}
	if _, _, _, ok := fenceOpen(l); ok {
		return true
	}
	if m, ok := parseListItem(l); ok && m.content != "" && (!m.ordered || m.start == 1) {
		return true
	}
	return false
}

func renderBlocks(b *strings.Builder, lines []string, tight bool, depth int) {
	if depth > maxBlockDepth {
		b.WriteString("<p>")
		b.WriteString(escape(strings.TrimSpace(strings.Join(lines, "\n"))))
		b.WriteString("</p>\n")
		return
	}
	i := 0
	for i < len(lines) {
		l := lines[i]
		if isBlank(l) {
			i++
			continue
		}
		if ind, fence, info, ok := fenceOpen(l); ok {
			i = renderFence(b, lines, i+1, ind, fence, info)
			continue
		}
		if level, text, ok := atxHeading(l); ok {
			h := strconv.Itoa(level)
			b.WriteString("<h" + h + ">")
			renderInline(b, text, 0, false)
			b.WriteString("</h" + h + ">\n")
			i++
			continue
		}
		if hrRE.MatchString(l) {
			b.WriteString("<hr>\n")
			i++
			continue
		}
		if quoteRE.MatchString(l) {
			var inner []string
			for i < len(lines) {
				l := lines[i]
				if loc := quoteRE.FindStringIndex(l); loc != nil {
					inner = append(inner, l[loc[1]:])
				} else if !isBlank(l) && len(inner) > 0 && !isBlank(inner[len(inner)-1]) && !startsBlock(l) {
					inner = append(inner, l) // lazy continuation
				} else {
					break
				}
				i++
			}
			b.WriteString("<blockquote>\n")
			renderBlocks(b, inner, false, depth+1)
			b.WriteString("</blockquote>\n")
			continue
		}
		if m, ok := parseListItem(l); ok {
			i = renderList(b, lines, i, m, depth)
			continue
		}
		if indentOf(l) >= 4 {
			var code []string
			for i < len(lines) && (isBlank(lines[i]) || indentOf(lines[i]) >= 4) {
				c := lines[i]
				if len(c) >= 4 {
					c = c[4:]
				} else {
					c = ""
				}
				code = append(code, c)
				i++
			}
			for len(code) > 0 && isBlank(code[len(code)-1]) {
				code = code[:len(code)-1]
			}
			writeCode(b, code, "")
			continue
		}
		if i+1 < len(lines) && strings.Contains(l, "|") && tableDelRE.MatchString(lines[i+1]) {
			if n := renderTable(b, lines, i); n > i {
				i = n
				continue
			}
		}
		// paragraph, possibly a setext heading
		var para []string
		heading := 0
		for i < len(lines) {
			l := lines[i]
			if len(para) > 0 {
				if setext1RE.MatchString(l) {
					heading = 1
					i++
					break
				}
				if setext2RE.MatchString(l) {
					heading = 2
					i++
					break
				}
				if startsBlock(l) {
					break
				}
			}
			para = append(para, strings.TrimLeft(l, " "))
			i++
		}
		text := strings.TrimRight(strings.Join(para, "\n"), " ")
		switch {
		case heading > 0:
			h := strconv.Itoa(heading)
			b.WriteString("<h" + h + ">")
			renderInline(b, text, 0, false)
			b.WriteString("</h" + h + ">\n")
		case tight:
			renderInline(b, text, 0, false)
			b.WriteString("\n")
		default:
			b.WriteString("<p>")
			renderInline(b, text, 0, false)
			b.WriteString("</p>\n")
		}
	}
}

func writeCode(b *strings.Builder, code []string, info string) {
	lang := ""
	if f := strings.Fields(info); len(f) > 0 {
		lang = langRE.ReplaceAllString(f[0], "")
	}
	if lang != "" {
		b.WriteString(`<pre><code class="language-` + escape(lang) + `">`)
	} else {
		b.WriteString("<pre><code>")
	}
	for _, c := range code {
		b.WriteString(escape(c))
		b.WriteString("\n")
	}
	b.WriteString("</code></pre>\n")
}

func renderFence(b *strings.Builder, lines []string, i, indent int, fence, info string) int {
	var code []string
	for ; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimRight(l, " ")
		if ind := indentOf(t); ind <= 3 && len(t)-ind >= len(fence) && strings.Trim(t[ind:], fence[:1]) == "" {
			i++
			break
		}
		n := min(indentOf(l), indent)
		code = append(code, l[n:])
	}
	writeCode(b, code, info)
	return i
}

func renderList(b *strings.Builder, lines []string, i int, first listMarker, depth int) int {
	same := func(m listMarker) bool { return m.ordered == first.ordered && m.char == first.char }
	var items [][]string
	cur := []string{first.content}
	ci := first.indent
	loose := false
	sawBlank := false
	j := i + 1
	for j < len(lines) {
		l := lines[j]
		if isBlank(l) {
			cur = append(cur, "")
			sawBlank = true
			j++
			continue
		}
		if indentOf(l) >= ci {
			cur = append(cur, l[ci:])
			sawBlank = false
			j++
			continue
		}
		if m, ok := parseListItem(l); ok && same(m) {
			if sawBlank {
				loose = true
			}
			items = append(items, cur)
			cur = []string{m.content}
			ci = m.indent
			sawBlank = false
			j++
			continue
		}
		if !sawBlank && !startsBlock(l) {
			if _, ok := parseListItem(l); !ok {
				cur = append(cur, strings.TrimLeft(l, " ")) // lazy continuation
				j++
				continue
			}
		}
		break
	}
	items = append(items, cur)
	for k, it := range items {
		for len(it) > 0 && isBlank(it[len(it)-1]) {
			it = it[:len(it)-1]
		}
		items[k] = it
		for x := 1; x < len(it); x++ {
			if isBlank(it[x]) && !isBlank(it[x-1]) && !inFence(it[:x]) {
				loose = true
			}
		}
	}
	switch {
	case !first.ordered:
		b.WriteString("<ul>\n")
	case first.start != 1:
		b.WriteString(`<ol start="` + strconv.Itoa(first.start) + `">` + "\n")
	default:
		b.WriteString("<ol>\n")
	}
	for _, it := range items {
		var ib strings.Builder
		renderBlocks(&ib, it, !loose, depth+1)
		b.WriteString("<li>")
		b.WriteString(strings.TrimSuffix(ib.String(), "\n"))
		b.WriteString("</li>\n")
	}
	if first.ordered {
		b.WriteString("</ol>\n")
	} else {
		b.WriteString("</ul>\n")
	}
	return j
}

// inFence reports whether lines end inside an open code fence.
func inFence(lines []string) bool {
	open := ""
	for _, l := range lines {
		if open == "" {
			if _, f, _, ok := fenceOpen(l); ok {
				open = f
			}
			continue
		}
		t := strings.TrimSpace(l)
		if len(t) >= len(open) && strings.Trim(t, open[:1]) == "" {
			open = ""
		}
	}
	return open != ""
}

func splitCells(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	if strings.HasSuffix(l, "|") && !strings.HasSuffix(l, `\|`) {
		l = l[:len(l)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func renderTable(b *strings.Builder, lines []string, i int) int {
	head := splitCells(lines[i])
	delim := splitCells(lines[i+1])
	if len(head) != len(delim) {
		return i
	}
	align := make([]string, len(delim))
	for k, d := range delim {
		left, right := strings.HasPrefix(d, ":"), strings.HasSuffix(d, ":")
		switch {
		case left && right:
			align[k] = ` style="text-align: center"`
		case right:
			align[k] = ` style="text-align: right"`
		case left:
			align[k] = ` style="text-align: left"`
		}
	}
	row := func(cells []string, tag string) {
		b.WriteString("<tr>")
		for k := range align {
			b.WriteString("<" + tag + align[k] + ">")
			if k < len(cells) {
				renderInline(b, cells[k], 0, false)
			}
			b.WriteString("</" + tag + ">")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("<table>\n<thead>\n")
	row(head, "th")
	b.WriteString("</thead>\n")
	j := i + 2
	if j < len(lines) && !isBlank(lines[j]) && !startsBlock(lines[j]) {
		b.WriteString("<tbody>\n")
		for j < len(lines) && !isBlank(lines[j]) && !startsBlock(lines[j]) {
			row(splitCells(lines[j]), "td")
			j++
		}
		b.WriteString("</tbody>\n")
	}
	b.WriteString("</table>\n")
	return j
}

// ---- inline ----

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

func writeLink(b *strings.Builder, href, title string) {
	b.WriteString(`<a href="`)
	b.WriteString(escape(href))
	b.WriteString(`"`)
	if title != "" {
		b.WriteString(` title="`)
		b.WriteString(escape(title))
		b.WriteString(`"`)
	}
	b.WriteString(` rel="nofollow noopener noreferrer">`)
}

type inline struct {
	s       string
	depth   int
	noLinks bool
	close   []int          // matching ']' for each '[' (-1: none)
	noCode  map[int]int    // backtick run length -> position from which no closing run exists
	noEmph  map[string]int // delimiter -> position from which no closer exists
}

func renderInline(b *strings.Builder, s string, depth int, noLinks bool) {
	if depth > maxInlineDepth {
		b.WriteString(escape(s))
		return
	}
	p := &inline{s: s, depth: depth, noLinks: noLinks, noCode: map[int]int{}, noEmph: map[string]int{}}
	p.matchBrackets()
	p.render(b)
}

func isPunct(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

// matchBrackets pairs '[' with ']' (ignoring escaped ones) in one pass.
func (p *inline) matchBrackets() {
	s := p.s
	p.close = make([]int, len(s))
	var stack []int
	for i := 0; i < len(s); i++ {
		p.close[i] = -1
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				p.close[i] = -1
			}
		case '[':
			stack = append(stack, i)
		case ']':
			if n := len(stack); n > 0 {
				p.close[stack[n-1]] = i
				stack = stack[:n-1]
			}
		}
	}
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// codeClose returns where the closing run of exactly n backticks after
// from begins, or -1.
func (p *inline) codeClose(from, n int) int {
	if lim, ok := p.noCode[n]; ok && from >= lim {
		return -1
	}
	s := p.s
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		r := runLen(s, i, '`')
		if r == n {
			return i
		}
		i += r
	}
	if lim, ok := p.noCode[n]; !ok || from < lim {
		p.noCode[n] = from
	}
	return -1
}

func prevRune(s string, i int) rune {
	if i <= 0 {
		return ' '
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func nextRune(s string, i int) rune {
	if i >= len(s) {
		return ' '
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

func alnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// emphClose finds the closer of an emphasis opened by n (1 or 2) c's whose
// content starts at from: a run of c preceded by a non-space; with n == 1 a
// run of exactly one (longer runs are nested strong delimiters); for '_'
// not followed by a letter or digit. Code spans and escapes are skipped.
func (p *inline) emphClose(from int, c byte, n int) int {
	key := string([]byte{c, byte('0' + n)})
	if lim, ok := p.noEmph[key]; ok && from >= lim {
		return -1
	}
	s := p.s
	for i := from; i < len(s); {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '`':
			r := runLen(s, i, '`')
			if j := p.codeClose(i+r, r); j >= 0 {
				i = j + r
			} else {
				i += r
			}
			continue
		case c:
			r := runLen(s, i, c)
			ok := i > from && !unicode.IsSpace(prevRune(s, i))
			if c == '_' && alnum(nextRune(s, i+r)) {
				ok = false
			}
			if ok && ((n == 1 && r == 1) || (n == 2 && r >= 2)) {
				if n == 2 && r > 2 {
					return i + r - 2
				}
				return i
			}
			i += r
			continue
		}
		i++
	}
	if lim, ok := p.noEmph[key]; !ok || from < lim {
		p.noEmph[key] = from
	}
	return -1
}

var (
	autolinkRE = regexp.MustCompile(`^<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>`)
	emailRE    = regexp.MustCompile(`^<([A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>`)
	bareURLRE  = regexp.MustCompile(`^https?://[^\s<>"'` + "`" + `]+`)
)

const inlineSpecial = "\\`<![*_~ \nh"

func (p *inline) render(b *strings.Builder) {
	s := p.s
	i := 0
	for i < len(s) {
		k := strings.IndexAny(s[i:], inlineSpecial)
		if k < 0 {
			b.WriteString(escape(s[i:]))
			return
		}
		if k > 0 {
			b.WriteString(escape(s[i : i+k]))
			i += k
		}
		i = p.special(b, i)
	}
}

// special handles the special character at i and returns where to go on.
func (p *inline) special(b *strings.Builder, i int) int {
	s := p.s
	c := s[i]
	switch c {
	case '\\':
		if i+1 < len(s) && s[i+1] == '\n' {
			b.WriteString("<br>\n")
			return i + 2
		}
		if i+1 < len(s) && isPunct(s[i+1]) {
			b.WriteString(escape(s[i+1 : i+2]))
			return i + 2
		}
		b.WriteString(`\`)
		return i + 1
	case '`':
		n := runLen(s, i, '`')
		j := p.codeClose(i+n, n)
		if j < 0 {
			b.WriteString(s[i : i+n])
			return i + n
		}
		code := strings.ReplaceAll(s[i+n:j], "\n", " ")
		if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.Trim(code, " ") != "" {
			code = code[1 : len(code)-1]
		}
		b.WriteString("<code>")
		b.WriteString(escape(code))
		b.WriteString("</code>")
		return j + n
	case ' ':
		n := runLen(s, i, ' ')
		if i+n < len(s) && s[i+n] == '\n' {
			if n >= 2 {
				b.WriteString("<br>\n")
			} else {
				b.WriteString("\n")
			}
			return i + n + 1
		}
		b.WriteString(s[i : i+n])
		return i + n
	case '\n':
		b.WriteString("\n")
		return i + 1
	case '<':
		// An autolink ends within maxLinkPart bytes: bound the regexp's
		// input so that many unclosed '<' stay linear.
		rest := s[i:min(len(s), i+maxLinkPart+2)]
		if m := autolinkRE.FindStringSubmatch(rest); m != nil {
			if u, ok := SafeURL(m[1]); ok && !p.noLinks {
				writeLink(b, u, "")
				b.WriteString(escape(m[1]))
				b.WriteString("</a>")
			} else {
				b.WriteString(escape(m[0]))
			}
			return i + len(m[0])
		}
		if m := emailRE.FindStringSubmatch(rest); m != nil {
			if !p.noLinks {
				writeLink(b, "mailto:"+m[1], "")
				b.WriteString(escape(m[1]))
				b.WriteString("</a>")
			} else {
				b.WriteString(escape(m[0]))
			}
			return i + len(m[0])
		}
		b.WriteString("&lt;")
		return i + 1
	case '!':
		if i+1 < len(s) && s[i+1] == '[' {
			if end, text, dest, title, ok := p.link(i + 1); ok {
				// an image becomes a link to it: no remote loads in the console
				if u, safe := SafeURL(dest); safe && !p.noLinks {
					writeLink(b, u, title)
					b.WriteString(escape(plainText(text)))
					b.WriteString("</a>")
				} else {
					b.WriteString(escape(plainText(text)))
				}
				return end
			}
		}
		b.WriteString("!")
		return i + 1
	case '[':
		if end, text, dest, title, ok := p.link(i); ok {
			u, safe := SafeURL(dest)
			if safe && !p.noLinks {
				writeLink(b, u, title)
				renderInline(b, text, p.depth+1, true)
				b.WriteString("</a>")
			} else {
				renderInline(b, text, p.depth+1, p.noLinks)
			}
			return end
		}
		b.WriteString("[")
		return i + 1
	case 'h':
		if !p.noLinks && !alnum(prevRune(s, i)) {
			if m := bareURLRE.FindString(s[i:]); m != "" {
				m = trimURLTail(m)
				if u, ok := SafeURL(m); ok && len(m) > len("https://") {
					writeLink(b, u, "")
					b.WriteString(escape(m))
					b.WriteString("</a>")
					return i + len(m)
				}
			}
		}
		b.WriteString("h")
		return i + 1
	case '*', '_', '~':
		return p.emphasis(b, i, c)
	}
	b.WriteString(escape(s[i : i+1]))
	return i + 1
}

func trimURLTail(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		if strings.IndexByte(".,;:!?*_~'\"", c) >= 0 {
			u = u[:len(u)-1]
			continue
		}
		if c == ')' && strings.Count(u, "(") < strings.Count(u, ")") {
			u = u[:len(u)-1]
			continue
		}
		break
	}
	return u
}

func (p *inline) emphasis(b *strings.Builder, i int, c byte) int {
	s := p.s
	r := runLen(s, i, c)
	opener := !unicode.IsSpace(nextRune(s, i+r))
	if c == '_' && alnum(prevRune(s, i)) {
		opener = false
	}
	if opener && p.depth < maxInlineDepth {
		if c == '~' {
			if r == 2 {
				if j := p.emphClose(i+2, c, 2); j >= 0 {
					b.WriteString("<del>")
					renderInline(b, s[i+2:j], p.depth+1, p.noLinks)
					b.WriteString("</del>")
					return j + 2
				}
			}
		} else {
			if r >= 2 {
				if j := p.emphClose(i+2, c, 2); j >= 0 {
					b.WriteString("<strong>")
					renderInline(b, s[i+2:j], p.depth+1, p.noLinks)
					b.WriteString("</strong>")
					return j + 2
				}
			}
			if r == 1 || r >= 3 {
				start := i + r - 1
				if j := p.emphClose(start+1, c, 1); j >= 0 {
					b.WriteString(escape(s[i:start]))
					b.WriteString("<em>")
					renderInline(b, s[start+1:j], p.depth+1, p.noLinks)
					b.WriteString("</em>")
					return j + 1
				}
			}
		}
	}
	b.WriteString(s[i : i+r])
	return i + r
}

// link parses [text](dest "title") at i (s[i] == '[').
func (p *inline) link(i int) (end int, text, dest, title string, ok bool) {
	s := p.s
	j := p.close[i]
	if j < 0 || j+1 >= len(s) || s[j+1] != '(' {
		return 0, "", "", "", false
	}
	text = s[i+1 : j]
	k := j + 2
	for k < len(s) && (s[k] == ' ' || s[k] == '\n') {
		k++
	}
	if k < len(s) && s[k] == '<' {
		e := strings.IndexAny(s[k+1:min(len(s), k+1+maxLinkPart)], ">\n")
		if e < 0 || s[k+1+e] != '>' {
			return 0, "", "", "", false
		}
		dest = s[k+1 : k+1+e]
		k = k + 1 + e + 1
	} else {
		var d strings.Builder
		depth := 0
	loop:
		for k < len(s) {
			if d.Len() > maxLinkPart || depth > 32 {
				return 0, "", "", "", false
			}
			c := s[k]
			switch {
			case c == '\\' && k+1 < len(s) && isPunct(s[k+1]):
				d.WriteByte(s[k+1])
				k += 2
				continue
			case c == '(':
				depth++
			case c == ')':
				if depth == 0 {
					break loop
				}
				depth--
			case c == ' ' || c == '\n' || c < 0x20:
				break loop
			}
			d.WriteByte(c)
			k++
		}
		dest = d.String()
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\n') {
		k++
	}
	if k < len(s) && (s[k] == '"' || s[k] == '\'' || s[k] == '(') {
		q := s[k]
		if q == '(' {
			q = ')'
		}
		var t strings.Builder
		k++
		for k < len(s) && s[k] != q {
			if t.Len() > maxLinkPart {
				return 0, "", "", "", false
			}
			if s[k] == '\\' && k+1 < len(s) && isPunct(s[k+1]) {
				k++
			}
			t.WriteByte(s[k])
			k++
		}
		if k >= len(s) {
			return 0, "", "", "", false
		}
		title = t.String()
		k++
		for k < len(s) && (s[k] == ' ' || s[k] == '\n') {
			k++
		}
	}
	if k >= len(s) || s[k] != ')' {
		return 0, "", "", "", false
	}
	return k + 1, text, dest, title, true
}

// plainText strips the simplest markup from link text used as image alt.
func plainText(s string) string {
	return strings.NewReplacer("*", "", "_", "", "`", "").Replace(s)
}
