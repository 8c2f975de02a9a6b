package runbook

import (
	"strings"
)

// Limits that keep rendering linear on hostile input. CommonMark lets
// containers nest without bound and a link destination run to the end of
// a word; goldmark's cost grows with the square of either, and a runbook
// may be 1 MiB. Text beyond these limits is shown literally.
const (
	maxBlockDepth = 24   // block quotes and list items opened on one line
	maxLinkPart   = 4096 // longest word in which "](" still starts a link destination
	maxBrackets   = 1000 // "[" that may open a link in one paragraph
)

// guard prepares markdown for the parser: outside fenced code it escapes
// the container marker that would open the 25th level on a line, the "("
// of "](" in words longer than maxLinkPart, and every "[" of a paragraph
// after its first maxBrackets.
func guard(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var fence string // the open fence, "" outside one
	changed := false
	brackets := 0 // "[" seen in the current paragraph
	for i, l := range lines {
		if f := fenceMarker(l); f != "" {
			switch {
			case fence == "":
				fence = f
			case f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(strings.TrimLeft(l, " "+f[:1])) == "":
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		if strings.TrimSpace(l) == "" {
			brackets = 0
			continue
		}
		g := limitNesting(l)
		g = limitLinkWords(g)
		g = limitBrackets(g, &brackets)
		if g != l {
			lines[i], changed = g, true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(lines, "")
}

// fenceMarker is the run of ``` or ~~~ (three or more) that starts l after
// at most three spaces, or "".
func fenceMarker(l string) string {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return ""
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 {
		return ""
	}
	return t[:n]
}

// limitNesting escapes the marker of the (maxBlockDepth+1)th container
// opened at the start of l.
func limitNesting(l string) string {
	i, depth := 0, 0
	for i < len(l) {
		for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			i++
		}
		n := markerLen(l[i:])
		if n == 0 {
			return l
		}
		if depth++; depth > maxBlockDepth {
			return l[:i] + `\` + l[i:]
		}
		i += n
	}
	return l
}

// markerLen is the length of the block-quote or list marker at the start
// of s ("> ", "- ", "12. "), 0 if none.
func markerLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '>':
		return 1
	case '-', '*', '+':
		if len(s) > 1 && (s[1] == ' ' || s[1] == '\t') {
			return 2
		}
		return 0
	}
	d := 0
	for d < len(s) && d < 9 && s[d] >= '0' && s[d] <= '9' {
		d++
	}
	if d > 0 && d+1 < len(s) && (s[d] == '.' || s[d] == ')') && (s[d+1] == ' ' || s[d+1] == '\t') {
		return d + 2
	}
	return 0
}

// limitLinkWords escapes "](" in words (runs without white space) longer
// than maxLinkPart: such a word holds no link destination a person wrote.
func limitLinkWords(l string) string {
	if len(l) <= maxLinkPart || !strings.Contains(l, "](") {
		return l
	}
	var b strings.Builder
	start := 0
	for start < len(l) {
		end := start
		for end < len(l) && !isSpace(l[end]) {
			end++
		}
		word := l[start:end]
		if len(word) > maxLinkPart {
			word = strings.ReplaceAll(word, "](", `]\(`)
		}
		b.WriteString(word)
		sp := end
		for sp < len(l) && isSpace(l[sp]) {
			sp++
		}
		b.WriteString(l[end:sp])
		start = sp
	}
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// limitBrackets counts the "[" of l into *seen and escapes those past
// maxBrackets.
func limitBrackets(l string, seen *int) string {
	n := strings.Count(l, "[")
	if *seen+n <= maxBrackets {
		*seen += n
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == '[' {
			if *seen++; *seen > maxBrackets && (i == 0 || l[i-1] != '\\') {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(l[i])
	}
	return b.String()
}
