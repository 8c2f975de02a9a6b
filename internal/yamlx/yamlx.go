// Package yamlx is mamori's one strict YAML reader and its one error type.
// Every YAML surface — the server configuration, the agent's config file,
// runbook front matter, maintenance windows and recovery policies — reads
// its document with Parse, decodes mappings strictly (unknown fields,
// duplicate keys, values of the wrong type: every problem at once, never
// stopping at the first) and reports each problem as an Error with its
// file, line, column and field path.
package yamlx

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check/fieldset"
)

// Error is one problem of a YAML document.
type Error struct {
	File string
	Line int    // 1-based; 0 when unknown
	Col  int    // 1-based; 0 when unknown
	Path string // field path, e.g. hosts[1].checks[0].url ("" for the document)
	Msg  string
}

// Error reads "FILE:LINE:COL: PATH: MSG", leaving out what is unknown
// ("line LINE:COL: …" without a file).
func (e Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		if loc == "" {
			loc = "line " // the caller knows the file
		} else {
			loc += ":"
		}
		loc += strconv.Itoa(e.Line)
		if e.Col > 0 {
			loc += ":" + strconv.Itoa(e.Col)
		}
	}
	msg := e.Msg
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	if loc == "" {
		return msg
	}
	return loc + ": " + msg
}

// At is the Error of a problem at node n (nil: location unknown) of file.
func At(file string, n *yaml.Node, path, format string, args ...any) Error {
	e := Error{File: file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// Errors is every problem found in one or more documents.
type Errors []Error

// Error is one problem a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sorted orders the problems by file, line and column (stable).
func (es Errors) Sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
	return es
}

// Err is es as an error: nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// parserErrors are yaml.v3's parser problems, reported with a 0-based line
// (of where the construct began); scanner problems use 1-based lines.
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found undefined tag handle":             true,
}

// Parse reads one YAML document of file into a node tree. offset is the
// number of lines before data in the file (front matter after its opening
// "---": 1). A syntax error is an Error with its 1-based line (yaml.v3
// counts parser errors from 0; Parse corrects that) and yaml.v3's message;
// the root is nil for an empty document. Duplicate keys are reported by
// Duplicates, not here.
func Parse(file string, data []byte, offset int) (*yaml.Node, *Error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntax(file, err, offset)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func syntax(file string, err error, offset int) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg}
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return e
	}
	num, text, ok := strings.Cut(rest, ": ")
	line, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return e
	}
	if parserErrors[text] {
		line++
	}
	e.Line, e.Msg = line+offset, text
	return e
}

// Duplicates reports every key written twice in a mapping of the tree at n
// ("duplicate key (first at line N)"), with the key as its path.
func Duplicates(file string, n *yaml.Node) Errors {
	var out Errors
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if first, dup := seen[k.Value]; dup {
					out = append(out, At(file, k, k.Value, "duplicate key (first at line %d)", first))
				} else {
					seen[k.Value] = k.Line
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// Mapping decodes the mapping n of file, at path, into spec's fields (by
// their yaml tags, see internal/check/fieldset): every unknown key (with
// a suggestion), value of the wrong type and unparsable value is reported;
// keys in skip are left to the caller.
func Mapping(file, path string, n *yaml.Node, spec any, skip map[string]bool) Errors {
	if n.Kind != yaml.MappingNode {
		return Errors{At(file, n, path, "must be a mapping")}
	}
	return Issues(file, path, fieldset.DecodeMapping(n, spec, skip))
}

// Issues places fieldset's issues (relative to a mapping) at path in file.
func Issues(file, path string, is []fieldset.Issue) Errors {
	out := make(Errors, 0, len(is))
	for _, i := range is {
		out = append(out, Error{File: file, Line: i.Line, Col: i.Col, Path: Join(path, i.Key), Msg: i.Msg})
	}
	return out
}

// Join appends a key or an index ("[2]") to a field path.
func Join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	case strings.HasPrefix(key, "["):
		return path + key
	}
	return path + "." + key
}
