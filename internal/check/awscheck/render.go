package awscheck

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Found is what one service's discovery found in one region.
type Found struct {
	Service   string
	Region    string
	Resources []Resource
}

// RenderChecks writes the proposed checks as a `checks:` YAML document for
// account, every check with its account and region. Names are made unique.
func RenderChecks(account string, found []Found) ([]byte, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	used := map[string]int{}
	for _, f := range found {
		for _, r := range f.Resources {
			for _, p := range r.Checks {
				seq.Content = append(seq.Content, proposalNode(account, f.Region, uniqueName(used, p.Name), p, r))
			}
		}
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("checks"), seq}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func uniqueName(used map[string]int, name string) string {
	used[name]++
	if n := used[name]; n > 1 {
		return fmt.Sprintf("%s-%d", name, n)
	}
	return name
}

func proposalNode(account, region, name string, p Proposal, r Resource) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	add("name", str(name))
	add("type", str(p.Type))
	if account != "" {
		add("account", str(account))
	}
	add("region", str(region))
	for _, kv := range p.Fields {
		add(kv.Key, value(kv.Value))
	}
	comment := p.Comment
	if r.Name != "" {
		comment = strings.TrimSpace(r.Name + ": " + comment)
	}
	m.Content[0].HeadComment = comment
	return m
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Tag: "!!str"} }

func value(v any) *yaml.Node {
	switch x := v.(type) {
	case string:
		return str(x)
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range x {
			n.Content = append(n.Content, str(s))
		}
		return n
	case map[string]string:
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Content = append(n.Content, str(k), str(x[k]))
		}
		return n
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(v)}
}
