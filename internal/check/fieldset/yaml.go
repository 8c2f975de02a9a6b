package fieldset

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Issue is a problem found while decoding, located in the YAML source.
type Issue struct {
	Key  string // field path relative to the mapping, e.g. "headers" or "expect_status[1]"
	Line int
	Col  int
	Msg  string
}

// DecodeMapping decodes the keys of a YAML mapping node into spec's fields.
// Keys in skip are left to the caller. Every unknown key, wrong type and
// unparsable value is reported; decoding goes on after each.
func DecodeMapping(node *yaml.Node, spec any, skip map[string]bool) []Issue {
	fields := Of(spec)
	byKey := make(map[string]Field, len(fields))
	for _, f := range fields {
		byKey[f.Key] = f
	}
	var issues []Issue
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, val := node.Content[i], node.Content[i+1]
		if skip[k.Value] {
			continue
		}
		f, ok := byKey[k.Value]
		if !ok {
			issues = append(issues, Issue{Key: k.Value, Line: k.Line, Col: k.Column, Msg: "unknown field" + suggest(k.Value, fields)})
			continue
		}
		issues = append(issues, decodeField(f, val)...)
	}
	return issues
}

func decodeField(f Field, val *yaml.Node) []Issue {
	at := func(n *yaml.Node, key, format string, args ...any) Issue {
		return Issue{Key: key, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
	}
	if val.Kind == yaml.AliasNode {
		val = val.Alias
	}
	f.Reset()
	switch f.v.Kind() {
	case reflect.Slice:
		switch val.Kind {
		case yaml.ScalarNode:
			if val.Tag == "!!null" {
				return nil
			}
			// A list is written as one: a string here is most often a
			// list someone meant to write ([a, b]) and would be read wrong.
			return []Issue{at(val, f.Key, "must be a list (write [%s]), not a %s", val.Value, kindName(val))}
		case yaml.SequenceNode:
			var issues []Issue
			for i, item := range val.Content {
				if item.Kind != yaml.ScalarNode {
					issues = append(issues, at(item, fmt.Sprintf("%s[%d]", f.Key, i), "must be a %s, not a %s", strings.TrimPrefix(f.Type, "list of "), kindName(item)))
					continue
				}
				if err := f.appendItem(item.Value); err != nil {
					issues = append(issues, at(item, fmt.Sprintf("%s[%d]", f.Key, i), "%v", err))
				}
			}
			return issues
		default:
			return []Issue{at(val, f.Key, "must be a %s, not a %s", f.Type, kindName(val))}
		}
	case reflect.Map:
		if val.Kind != yaml.MappingNode {
			return []Issue{at(val, f.Key, "must be a mapping of strings, not a %s", kindName(val))}
		}
		m := reflect.MakeMap(f.v.Type())
		var issues []Issue
		for i := 0; i+1 < len(val.Content); i += 2 {
			k, v := val.Content[i], val.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				issues = append(issues, at(v, f.Key+"."+k.Value, "must be a string, not a %s", kindName(v)))
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(v.Value))
		}
		f.v.Set(m)
		return issues
	}
	if val.Kind != yaml.ScalarNode {
		return []Issue{at(val, f.Key, "must be a %s, not a %s", f.Type, kindName(val))}
	}
	if f.v.Kind() == reflect.String && val.Tag != "!!str" && val.Tag != "!!int" && val.Tag != "!!float" && val.Tag != "!!bool" && val.Tag != "!!null" {
		return []Issue{at(val, f.Key, "must be a string")}
	}
	if val.Tag == "!!null" {
		return nil
	}
	if err := f.Set(val.Value); err != nil {
		return []Issue{at(val, f.Key, "%v", err)}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

// suggest names the closest known key, for typos: the smallest edit
// distance (a swap of two neighbours counts as one edit), ties going to the
// key that shares the longest prefix with the typo ("htp" is http, not ftp).
func suggest(key string, fields []Field) string {
	best, bestD, bestP := "", 3, -1
	for _, f := range fields {
		d := distance(key, f.Key)
		if d > 2 || d >= len(f.Key) {
			continue
		}
		if p := commonPrefix(key, f.Key); d < bestD || (d == bestD && p > bestP) {
			best, bestD, bestP = f.Key, d, p
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// SuggestKey names the closest of keys to key, for typos in fixed mappings.
func SuggestKey(key string, keys []string) string {
	sort.Strings(keys)
	fs := make([]Field, len(keys))
	for i, k := range keys {
		fs[i] = Field{Key: k}
	}
	return suggest(key, fs)
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost one each.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
