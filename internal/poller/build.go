package poller

import (
	"fmt"
	"log/slog"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// build turns a job into a runnable check with the same registry and spec
// decoding as the server's configuration loader.
func build(j broker.Job, log *slog.Logger) (*check.Kind, check.Checker, error) {
	kind, ok := check.Lookup(j.Type)
	if !ok {
		return nil, nil, fmt.Errorf("unknown check type %q (this poller knows: %s)", j.Type, strings.Join(check.Names(), ", "))
	}
	if kind.Scope != check.ScopeServer {
		return kind, nil, fmt.Errorf("a %s check does not run on a poller", j.Type)
	}
	spec := kind.New()
	if strings.TrimSpace(j.Spec) != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(j.Spec), &doc); err != nil {
			return kind, nil, fmt.Errorf("bad spec YAML: %w", err)
		}
		if len(doc.Content) > 0 {
			node := doc.Content[0]
			if node.Kind != yaml.MappingNode {
				return kind, nil, fmt.Errorf("bad spec YAML: not a mapping")
			}
			if issues := fieldset.DecodeMapping(node, spec, map[string]bool{"zone": true}); len(issues) > 0 {
				var msgs []string
				for _, is := range issues {
					msgs = append(msgs, fmt.Sprintf("line %d: %s: %s", is.Line, is.Key, is.Msg))
				}
				return kind, nil, fmt.Errorf("bad spec: %s", strings.Join(msgs, "; "))
			}
		}
	}
	if hd, ok := spec.(check.HostDefaulter); ok && j.Address != "" {
		hd.DefaultHost(j.Address)
	}
	if hn, ok := spec.(check.HostNamer); ok && j.Host != "" {
		hn.SetHostName(j.Host)
	}
	if cn, ok := spec.(interface{ SetCheckName(string) }); ok {
		cn.SetCheckName(j.Check)
	}
	var errs []string
	for _, fe := range append(fieldset.MissingRequired(spec), spec.Validate()...) {
		errs = append(errs, fe.Error())
	}
	if len(errs) > 0 {
		return kind, nil, fmt.Errorf("invalid spec: %s", strings.Join(errs, "; "))
	}
	c, err := spec.New(check.Env{Logger: log.With("check", j.Check)})
	if err != nil {
		return kind, nil, fmt.Errorf("cannot build the check: %w", err)
	}
	return kind, c, nil
}
