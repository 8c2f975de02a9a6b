package awsfake

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Instance is an EC2 instance of the fake.
type Instance struct {
	ID       string
	Name     string // its Name tag
	State    string // pending, running, stopping, stopped, shutting-down, terminated
	System   string // system status check: ok, impaired, initializing, insufficient-data, not-applicable
	Status   string // instance status check: same values
	Events   []Event
	Volumes  []string
	Tags     map[string]string
	Reboots  int
	Stops    int
	Starts   int
	Recovers func(i *Instance) // called on RebootInstances/StartInstances (default: both checks ok)
}

// Event is a scheduled event of an instance.
type Event struct {
	ID, Code, Description string
	NotBefore, NotAfter   time.Time
}

// Snapshot is an EBS snapshot of the fake.
type Snapshot struct {
	ID, Volume, State string // State: pending, completed, error
	Start             time.Time
}

// EC2 answers the EC2 operations mamori uses from instances a test sets.
type EC2 struct {
	mu        sync.Mutex
	instances map[string]*Instance
	snapshots []Snapshot
}

// NewEC2 installs EC2 handlers on s.
func NewEC2(s *Server) *EC2 {
	e := &EC2{instances: map[string]*Instance{}}
	s.Handle("ec2", "DescribeInstanceStatus", e.describeStatus)
	s.Handle("ec2", "DescribeInstances", e.describeInstances)
	s.Handle("ec2", "DescribeSnapshots", e.describeSnapshots)
	s.Handle("ec2", "RebootInstances", e.act("reboot"))
	s.Handle("ec2", "StopInstances", e.act("stop"))
	s.Handle("ec2", "StartInstances", e.act("start"))
	return e
}

// Put adds or replaces an instance (State/System/Status default to a
// healthy running instance).
func (e *EC2) Put(i Instance) {
	if i.State == "" {
		i.State = "running"
	}
	if i.System == "" {
		i.System = "ok"
	}
	if i.Status == "" {
		i.Status = "ok"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.instances[i.ID] = &i
}

// Update changes an instance under the fake's lock.
func (e *EC2) Update(id string, f func(i *Instance)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i, ok := e.instances[id]; ok {
		f(i)
	}
}

// Get returns a copy of an instance.
func (e *EC2) Get(id string) Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i, ok := e.instances[id]; ok {
		return *i
	}
	return Instance{}
}

// AddSnapshot adds an EBS snapshot.
func (e *EC2) AddSnapshot(s Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snapshots = append(e.snapshots, s)
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func stateXML(tag, s string) string {
	return fmt.Sprintf("<%s><code>%d</code><name>%s</name></%s>", tag, stateCodes[s], s, tag)
}

func statusXML(tag, s string) string {
	detail := "passed"
	switch s {
	case "impaired":
		detail = "failed"
	case "initializing", "insufficient-data", "not-applicable":
		detail = s
	}
	return fmt.Sprintf("<%s><status>%s</status><details><item><name>reachability</name><status>%s</status></item></details></%s>", tag, s, detail, tag)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// pick returns the instances a request names (all if none), or an error
// for an unknown id, as EC2 answers it.
func (e *EC2) pick(form map[string][]string) ([]*Instance, error) {
	ids := Members(form, "InstanceId")
	if len(ids) == 0 {
		var all []*Instance
		for _, i := range e.instances {
			all = append(all, i)
		}
		sort.Slice(all, func(a, b int) bool { return all[a].ID < all[b].ID })
		return all, nil
	}
	var out []*Instance
	for _, id := range ids {
		i, ok := e.instances[id]
		if !ok {
			return nil, &Error{Status: 400, Code: "InvalidInstanceID.NotFound", Message: fmt.Sprintf("The instance ID '%s' does not exist", id)}
		}
		out = append(out, i)
	}
	return out, nil
}

func (e *EC2) describeStatus(r *Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list, err := e.pick(r.Form)
	if err != nil {
		return nil, err
	}
	all := r.Form.Get("IncludeAllInstances") == "true"
	var b strings.Builder
	b.WriteString("<instanceStatusSet>")
	for _, i := range list {
		if i.State != "running" && !all {
			continue
		}
		fmt.Fprintf(&b, "<item><instanceId>%s</instanceId><availabilityZone>%sa</availabilityZone>", i.ID, r.Region)
		if len(i.Events) > 0 {
			b.WriteString("<eventsSet>")
			for _, ev := range i.Events {
				fmt.Fprintf(&b, "<item><instanceEventId>%s</instanceEventId><code>%s</code><description>%s</description><notBefore>%s</notBefore><notAfter>%s</notAfter></item>",
					ev.ID, ev.Code, Escape(ev.Description), iso(ev.NotBefore), iso(ev.NotAfter))
			}
			b.WriteString("</eventsSet>")
		}
		sys, st := i.System, i.Status
		if i.State != "running" {
			sys, st = "not-applicable", "not-applicable"
		}
		b.WriteString(stateXML("instanceState", i.State) + statusXML("systemStatus", sys) + statusXML("instanceStatus", st) + "</item>")
	}
	b.WriteString("</instanceStatusSet>")
	return XML(b.String()), nil
}

func (e *EC2) describeInstances(r *Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list, err := e.pick(r.Form)
	if err != nil {
		return nil, err
	}
	filters := tagFilters(r.Form)
	var b strings.Builder
	b.WriteString("<reservationSet>")
	for _, i := range list {
		if !matchTags(i, filters) {
			continue
		}
		fmt.Fprintf(&b, "<item><reservationId>r-%s</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>%s</instanceId>%s<blockDeviceMapping>", i.ID, i.ID, stateXML("instanceState", i.State))
		for n, v := range i.Volumes {
			fmt.Fprintf(&b, "<item><deviceName>/dev/xvd%c</deviceName><ebs><volumeId>%s</volumeId><status>attached</status></ebs></item>", 'a'+n, v)
		}
		b.WriteString("</blockDeviceMapping><tagSet>")
		tags := map[string]string{}
		for k, v := range i.Tags {
			tags[k] = v
		}
		if i.Name != "" {
			tags["Name"] = i.Name
		}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "<item><key>%s</key><value>%s</value></item>", Escape(k), Escape(tags[k]))
		}
		b.WriteString("</tagSet></item></instancesSet></item>")
	}
	b.WriteString("</reservationSet>")
	return XML(b.String()), nil
}

// tagFilters reads Filter.N.Name=tag:K / Filter.N.Value.1=V pairs.
func tagFilters(form map[string][]string) map[string]string {
	out := map[string]string{}
	for n := 1; ; n++ {
		name, ok := form[fmt.Sprintf("Filter.%d.Name", n)]
		if !ok {
			return out
		}
		if k, ok := strings.CutPrefix(name[0], "tag:"); ok {
			if v := Members(form, fmt.Sprintf("Filter.%d.Value", n)); len(v) > 0 {
				out[k] = v[0]
			}
		}
	}
}

func matchTags(i *Instance, want map[string]string) bool {
	for k, v := range want {
		got := i.Tags[k]
		if k == "Name" && got == "" {
			got = i.Name
		}
		if got != v {
			return false
		}
	}
	return true
}

func (e *EC2) describeSnapshots(r *Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	vols := map[string]bool{}
	for n := 1; ; n++ {
		name, ok := r.Form[fmt.Sprintf("Filter.%d.Name", n)]
		if !ok {
			break
		}
		if name[0] == "volume-id" {
			for _, v := range Members(r.Form, fmt.Sprintf("Filter.%d.Value", n)) {
				vols[v] = true
			}
		}
	}
	var b strings.Builder
	b.WriteString("<snapshotSet>")
	for _, s := range e.snapshots {
		if len(vols) > 0 && !vols[s.Volume] {
			continue
		}
		fmt.Fprintf(&b, "<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><status>%s</status><startTime>%s</startTime><progress>100%%</progress><ownerId>123456789012</ownerId></item>",
			s.ID, s.Volume, s.State, iso(s.Start))
	}
	b.WriteString("</snapshotSet>")
	return XML(b.String()), nil
}

func (e *EC2) act(what string) Handler {
	return func(r *Request) (any, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		list, err := e.pick(r.Form)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		b.WriteString("<instancesSet>")
		for _, i := range list {
			prev := i.State
			switch what {
			case "reboot":
				i.Reboots++
				recoverInstance(i)
			case "stop":
				i.Stops++
				i.State = "stopped"
			case "start":
				i.Starts++
				i.State = "running"
				recoverInstance(i)
			}
			fmt.Fprintf(&b, "<item><instanceId>%s</instanceId>%s%s</item>", i.ID, stateXML("currentState", i.State), stateXML("previousState", prev))
		}
		b.WriteString("</instancesSet>")
		if what == "reboot" {
			return XML("<return>true</return>"), nil
		}
		return XML(b.String()), nil
	}
}

func recoverInstance(i *Instance) {
	if i.Recovers != nil {
		i.Recovers(i)
		return
	}
	i.System, i.Status = "ok", "ok"
}
