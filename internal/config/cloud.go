package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/cloud"
)

// awsAccount decodes one entry of aws_accounts.
func (l *loader) awsAccount(file string, n *yaml.Node, path string) {
	var a cloud.AWSAccount
	l.issues(file, path, fieldset.DecodeMapping(n, &a, nil))
	for _, fe := range append(fieldset.MissingRequired(&a), a.Validate()...) {
		at := keyNode(n, fe.Field)
		if v := valueNode(n, strings.SplitN(fe.Field, "[", 2)[0]); v != nil {
			at = v
		}
		l.errAt(file, at, join(path, fe.Field), "%s", fe.Msg)
	}
	if a.Name == "" {
		return
	}
	if msg := badName(a.Name); msg != "" {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "%s", msg)
	}
	for _, prev := range l.cfg.AWSAccounts {
		if prev.Name == a.Name {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate AWS account %q", a.Name)
			return
		}
	}
	l.cfg.AWSAccounts = append(l.cfg.AWSAccounts, a)
}

// AWSAccount returns a configured AWS account by name.
func (c *Config) AWSAccount(name string) (cloud.AWSAccount, bool) {
	for _, a := range c.AWSAccounts {
		if a.Name == name {
			return a, true
		}
	}
	return cloud.AWSAccount{}, false
}

// AWSAccountFields documents an aws_accounts entry (for the config reference).
func AWSAccountFields() []fieldset.Field { return fieldset.Of(&cloud.AWSAccount{}) }

// resolveAccounts checks every account: reference of cloud check types: the
// account exists, and belongs to the check's tenant. A check with no tenant
// of its own (a top-level check) takes its account's tenant.
func (l *loader) resolveAccounts() {
	for _, c := range l.cfg.Checks {
		au, ok := c.Spec.(check.AccountUser)
		if !ok {
			continue
		}
		provider, name := au.CloudAccount()
		if name == "" || provider != "aws" {
			continue
		}
		r := l.refs[c]
		at, field := r.node, join(r.path, "account")
		if v := valueNode(r.node, "account"); v != nil {
			at = v
		}
		a, ok := l.cfg.AWSAccount(name)
		if !ok {
			known := make([]string, 0, len(l.cfg.AWSAccounts))
			for _, a := range l.cfg.AWSAccounts {
				known = append(known, a.Name)
			}
			slices.Sort(known)
			if len(known) == 0 {
				l.errAt(r.file, at, field, "unknown AWS account %q: no aws_accounts are declared", name)
			} else {
				l.errAt(r.file, at, field, "unknown AWS account %q%s (known: %s)", name, fieldset.SuggestKey(name, known), strings.Join(known, ", "))
			}
			continue
		}
		switch {
		case a.Tenant == "" || a.Tenant == c.Tenant:
		case c.Tenant == "":
			c.Tenant = a.Tenant
		default:
			l.errAt(r.file, at, field, "AWS account %q belongs to tenant %q, not to this check's tenant %q", name, a.Tenant, c.Tenant)
		}
	}
}
