// Package runbook loads markdown runbooks and binds them to checks, check
// types, hosts, host groups and tags, so that an incident and its
// notifications can link what to do (and an incident with no runbook can
// be flagged).
//
// A runbook is a markdown file with optional YAML front matter between
// "---" lines:
//
//	---
//	title: Web server down
//	checks: [web*/http, web1/https]
//	types: [http]
//	hosts: [web1]
//	groups: [web]
//	tags: [customer-a]
//	tenants: [acme]
//	---
//	# Web server down
//	1. ...
//
// Its name is its path inside the runbook folder without ".md", with "/".
package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest runbook file accepted.
const MaxSize = 1 << 20

// Runbook is one markdown runbook and its bindings. Checks and Hosts hold
// names or path.Match patterns ("web*/http", "db?"); the other lists are
// exact names. Tenants, if set, limits the runbook to those tenants.
type Runbook struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Body    string   `json:"body"` // markdown, without front matter
	Checks  []string `json:"checks,omitempty"`
	Types   []string `json:"types,omitempty"`
	Hosts   []string `json:"hosts,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Tenants []string `json:"tenants,omitempty"`
	Source  string   `json:"source,omitempty"` // file it was read from; empty for API runbooks
}

// Bound reports whether the runbook is bound to anything (an unbound
// runbook is reachable by name only).
func (r *Runbook) Bound() bool {
	return len(r.Checks)+len(r.Types)+len(r.Hosts)+len(r.Groups)+len(r.Tags) > 0
}

func (r *Runbook) clone() *Runbook {
	c := *r
	for _, l := range []*[]string{&c.Checks, &c.Types, &c.Hosts, &c.Groups, &c.Tags, &c.Tenants} {
		*l = slices.Clone(*l)
	}
	return &c
}

// Error is one problem with a runbook file (mamori's one YAML error type,
// without a field path). Line is 1-based within the file, 0 when unknown;
// Parse returns it as *Error.
type Error = yamlx.Error

// ValidName reports whether name can name a runbook: slash-separated
// segments, none empty, ".", ".." or hidden, no backslash or control
// characters.
func ValidName(name string) bool {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return false
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return false
			}
		}
	}
	return true
}

var frontKeys = []string{"title", "checks", "types", "hosts", "groups", "tags", "tenants"}

// Parse reads a runbook named name from data. Errors are *Error (several
// joined with errors.Join) with File set to name and lines counted in
// data.
func Parse(name string, data []byte) (*Runbook, error) {
	fail := func(line int, format string, args ...any) *Error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if !ValidName(name) {
		return nil, fail(0, "invalid runbook name %q", name)
	}
	if len(data) > MaxSize {
		return nil, fail(0, "runbook is larger than %d bytes", MaxSize)
	}
	if !utf8.Valid(data) {
		return nil, fail(0, "runbook is not valid UTF-8")
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	r := &Runbook{Name: name}

	front, body, ferr := splitFrontMatter(text)
	if ferr != nil {
		return nil, fail(1, "%s", ferr.Error())
	}
	r.Body = body
	var errs []error
	if front != "" {
		root, serr := yamlx.Parse(name, []byte(front), 1) // after the opening ---
		if serr != nil {
			return nil, fail(serr.Line, "front matter: %s", serr.Msg)
		}
		if root != nil {
			errs = append(errs, r.readFront(name, root)...)
		}
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"checks", r.Checks}, {"hosts", r.Hosts}} {
		for _, p := range l.list {
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, fail(0, "%s: %q is not a valid pattern", l.key, p))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if r.Title == "" {
		r.Title = firstHeading(body)
	}
	if r.Title == "" {
		r.Title = path.Base(name)
	}
	return r, nil
}

// splitFrontMatter splits "---\nYAML\n---\nbody". The closing line may
// also be "...".
func splitFrontMatter(text string) (front, body string, err error) {
	first, rest, ok := strings.Cut(text, "\n")
	if strings.TrimRight(first, " \t") != "---" {
		return "", text, nil
	}
	if !ok {
		return "", "", errors.New("front matter is not closed by a --- line")
	}
	lines := strings.SplitAfter(rest, "\n")
	off := 0
	for _, l := range lines {
		t := strings.TrimRight(l, " \t\n")
		if t == "---" || t == "..." {
			return rest[:off], rest[off+len(l):], nil
		}
		off += len(l)
	}
	return "", "", errors.New("front matter is not closed by a --- line")
}

func (r *Runbook) readFront(name string, n *yaml.Node) []error {
	var errs []error
	fail := func(node *yaml.Node, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: node.Line + 1, Msg: fmt.Sprintf(format, args...)})
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Value == "" {
			return nil
		}
		fail(n, "front matter must be a mapping of title, checks, types, hosts, groups, tags, tenants")
		return errs
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			fail(k, "%s given twice", key)
			continue
		}
		seen[key] = true
		if key == "title" {
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				fail(v, "title must be text")
				continue
			}
			r.Title = strings.TrimSpace(v.Value)
			continue
		}
		var dst *[]string
		switch key {
		case "checks":
			dst = &r.Checks
		case "types":
			dst = &r.Types
		case "hosts":
			dst = &r.Hosts
		case "groups":
			dst = &r.Groups
		case "tags":
			dst = &r.Tags
		case "tenants":
			dst = &r.Tenants
		default:
			fail(k, "unknown front matter key %q (known: %s)", key, strings.Join(frontKeys, ", "))
			continue
		}
		var items []*yaml.Node
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				continue
			}
			items = []*yaml.Node{v}
		case yaml.SequenceNode:
			items = v.Content
		default:
			fail(v, "%s must be a name or a list of names", key)
			continue
		}
		for _, it := range items {
			s := strings.TrimSpace(it.Value)
			switch {
			case it.Kind != yaml.ScalarNode:
				fail(it, "%s: items must be names", key)
			case s == "" || it.Tag == "!!null":
				fail(it, "%s: empty item", key)
			default:
				if key == "checks" || key == "hosts" {
					if _, err := path.Match(s, ""); err != nil {
						fail(it, "%s: %q is not a valid pattern", key, s)
						continue
					}
				}
				*dst = append(*dst, s)
			}
		}
	}
	return errs
}

var headingRE = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$`)

func firstHeading(body string) string {
	inFence := false
	for _, l := range strings.Split(body, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := headingRE.FindStringSubmatch(l); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return ""
}

// Library holds runbooks by name. It is safe for concurrent use; runbooks
// returned are copies.
type Library struct {
	mu    sync.RWMutex
	books map[string]*Runbook
	gen   uint64 // counts changes (Put, Delete)
}

// Generation changes whenever a runbook is put or deleted: a cache of
// something computed from the library is stale when it differs.
func (l *Library) Generation() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// NewLibrary returns an empty library.
func NewLibrary() *Library { return &Library{books: map[string]*Runbook{}} }

// LoadDir reads every *.md file under dir (recursively; hidden files and
// folders are skipped) and returns the library of those that parsed, with
// every problem found: a runbook with a problem is left out, the others
// are loaded.
func LoadDir(dir string) (*Library, []error) {
	l := NewLibrary()
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			if d != nil && d.IsDir() && p != dir {
				return fs.SkipDir
			}
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".md") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		name := filepath.ToSlash(rel)
		name = name[:len(name)-len(".md")]
		if info, err := d.Info(); err == nil && info.Size() > MaxSize {
			errs = append(errs, &Error{File: p, Msg: fmt.Sprintf("runbook is larger than %d bytes", MaxSize)})
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		r, err := Parse(name, data)
		if err != nil {
			for _, e := range flatten(err) {
				var re *Error
				if errors.As(e, &re) {
					re.File = p
				}
				errs = append(errs, e)
			}
			return nil
		}
		r.Source = p
		l.books[name] = r
		return nil
	})
	if err != nil {
		errs = append(errs, &Error{File: dir, Msg: err.Error()})
	}
	return l, errs
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Get returns a copy of the runbook named name, or nil.
func (l *Library) Get(name string) *Runbook {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if r := l.books[name]; r != nil {
		return r.clone()
	}
	return nil
}

// List returns copies of all runbooks, sorted by name.
func (l *Library) List() []*Runbook {
	l.mu.RLock()
	out := make([]*Runbook, 0, len(l.books))
	for _, r := range l.books {
		out = append(out, r.clone())
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Put adds or replaces a runbook (a copy of r is stored). The name must be
// valid and the patterns well-formed; an empty title becomes the first
// heading or the name.
func (l *Library) Put(r *Runbook) error {
	if r == nil || !ValidName(r.Name) {
		name := ""
		if r != nil {
			name = r.Name
		}
		return &Error{Msg: fmt.Sprintf("invalid runbook name %q", name)}
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"checks", r.Checks}, {"hosts", r.Hosts}, {"types", r.Types}, {"groups", r.Groups}, {"tags", r.Tags}, {"tenants", r.Tenants}} {
		for _, p := range l.list {
			if strings.TrimSpace(p) == "" {
				return &Error{File: r.Name, Msg: l.key + ": empty item"}
			}
			if _, err := path.Match(p, ""); err != nil {
				return &Error{File: r.Name, Msg: fmt.Sprintf("%s: %q is not a valid pattern", l.key, p)}
			}
		}
	}
	if len(r.Body) > MaxSize {
		return &Error{File: r.Name, Msg: fmt.Sprintf("runbook is larger than %d bytes", MaxSize)}
	}
	c := r.clone()
	if c.Title == "" {
		c.Title = firstHeading(c.Body)
	}
	if c.Title == "" {
		c.Title = path.Base(c.Name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.books == nil {
		l.books = map[string]*Runbook{}
	}
	l.books[c.Name] = c
	l.gen++
	return nil
}

// Delete removes the runbook named name and reports whether it existed.
func (l *Library) Delete(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.books[name]
	delete(l.books, name)
	l.gen++
	return ok
}

// Len returns the number of runbooks.
func (l *Library) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.books)
}

// Markdown returns the runbook as a file: front matter (if it has any
// binding or a title differing from its first heading) and body. Parse of
// the result gives back the runbook.
func (r *Runbook) Markdown() []byte {
	var b bytes.Buffer
	type front struct {
		Title   string   `yaml:"title,omitempty"`
		Checks  []string `yaml:"checks,omitempty,flow"`
		Types   []string `yaml:"types,omitempty,flow"`
		Hosts   []string `yaml:"hosts,omitempty,flow"`
		Groups  []string `yaml:"groups,omitempty,flow"`
		Tags    []string `yaml:"tags,omitempty,flow"`
		Tenants []string `yaml:"tenants,omitempty,flow"`
	}
	f := front{Checks: r.Checks, Types: r.Types, Hosts: r.Hosts, Groups: r.Groups, Tags: r.Tags, Tenants: r.Tenants}
	if r.Title != firstHeading(r.Body) && r.Title != path.Base(r.Name) {
		f.Title = r.Title
	}
	if f.Title != "" || r.Bound() || len(r.Tenants) > 0 || strings.HasPrefix(r.Body, "---") {
		y, _ := yaml.Marshal(f)
		b.WriteString("---\n")
		if string(y) != "{}\n" {
			b.Write(y)
		}
		b.WriteString("---\n")
	}
	b.WriteString(r.Body)
	return b.Bytes()
}
