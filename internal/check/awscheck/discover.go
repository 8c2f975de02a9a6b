package awscheck

import (
	"context"
	"sort"
	"sync"

	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Discoverer finds an account's resources of one service and proposes
// ready-to-use checks for each (`mamori aws discover`). Each AWS check
// package registers its own in init, like its check kind.
type Discoverer struct {
	Service string // short name shown and selectable: "ec2", "rds", …
	// Discover lists the resources of ref's region whose tags include every
	// tag of tags (none: all), each with its proposed checks.
	Discover func(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]Resource, error)
	// IAM lists the read-only IAM actions Discover needs (for docs and errors).
	IAM []string
}

// Resource is one discovered resource.
type Resource struct {
	ID     string // instance id, DB identifier, ARN…
	Name   string // its Name tag or own name, "" if none
	Checks []Proposal
}

// Proposal is one check entry to write: name, type and the type's own
// fields in the order they should be written. The account and region are
// added by the discovery command.
type Proposal struct {
	Name    string
	Type    string
	Fields  []KV
	Comment string // why this check, e.g. "maintenance notices"
}

// KV is one field of a proposed check.
type KV struct {
	Key   string
	Value any // string, number, bool, []string or map[string]string
}

var (
	discMu      sync.RWMutex
	discoverers = map[string]*Discoverer{}
)

// RegisterDiscoverer adds a service's discovery; it panics on a duplicate.
func RegisterDiscoverer(d *Discoverer) {
	if d.Service == "" || d.Discover == nil {
		panic("awscheck: RegisterDiscoverer needs Service and Discover")
	}
	discMu.Lock()
	defer discMu.Unlock()
	if _, dup := discoverers[d.Service]; dup {
		panic("awscheck: duplicate discoverer " + d.Service)
	}
	discoverers[d.Service] = d
}

// Discoverers lists the registered discoveries, sorted by service.
func Discoverers() []*Discoverer {
	discMu.RLock()
	defer discMu.RUnlock()
	out := make([]*Discoverer, 0, len(discoverers))
	for _, d := range discoverers {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}
