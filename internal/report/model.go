package report

import (
	"time"
)

// Report is everything a tenant's report shows; JSON, HTML and PDF are
// rendered from it.
type Report struct {
	Tenant      string    `json:"tenant"`
	TenantName  string    `json:"tenant_name"`
	Provider    string    `json:"provider"`
	Contact     string    `json:"provider_contact,omitempty"`
	Lang        string    `json:"lang"`
	TimeZone    string    `json:"time_zone"`
	Month       string    `json:"month,omitempty"` // YYYY-MM when the period is a calendar month
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	GeneratedAt time.Time `json:"generated_at"`
	// AvailabilityTarget in percent; null when the tenant has none.
	AvailabilityTarget *float64     `json:"availability_target_percent"`
	AckTargetSeconds   float64      `json:"ack_target_seconds"`
	ReportTargetSecs   float64      `json:"report_target_seconds"`
	Summary            Summary      `json:"summary"`
	Hosts              []HostAvail  `json:"hosts"`
	Checks             []CheckAvail `json:"checks"`
	Worst              []Outage     `json:"worst_downtimes"`
	Incidents          []Incident   `json:"incidents"`
	Tickets            []Ticket     `json:"tickets"`
	Maintenance        []Window     `json:"maintenance"`
	Trends             []HostTrends `json:"trends"`
	// ServerGaps are times mamori itself was not running (no data).
	ServerGaps []Interval `json:"server_gaps"`

	loc *time.Location
}

// Location is the report's time zone.
func (r *Report) Location() *time.Location {
	if r.loc == nil {
		if l, err := time.LoadLocation(r.TimeZone); err == nil {
			r.loc = l
		} else {
			r.loc = time.UTC
		}
	}
	return r.loc
}

// Summary is the first page's figures.
type Summary struct {
	Hosts            int      `json:"hosts"`
	Checks           int      `json:"checks"`
	ChecksBelow      int      `json:"checks_below_target"`
	Incidents        int      `json:"incidents"`
	DowntimeSeconds  float64  `json:"downtime_seconds"` // summed over checks
	AckMeasured      int      `json:"ack_measured"`
	AckMet           int      `json:"ack_met"`
	ReportMeasured   int      `json:"report_measured"`
	ReportMet        int      `json:"report_met"`
	TicketsOpened    int      `json:"tickets_opened"`
	TicketsClosed    int      `json:"tickets_closed"`
	MaintenanceCount int      `json:"maintenance_windows"`
	Availability     *float64 `json:"availability_percent"` // over all checks' known time
}

// Avail is an availability figure.
type Avail struct {
	// AvailabilityPercent is up / (up + down); null when the state was
	// never known outside maintenance.
	AvailabilityPercent *float64 `json:"availability_percent"`
	UpSeconds           float64  `json:"up_seconds"`
	DowntimeSeconds     float64  `json:"downtime_seconds"`
	UnknownSeconds      float64  `json:"unknown_seconds"`
	NoDataSeconds       float64  `json:"no_data_seconds"`
	MaintenanceSeconds  float64  `json:"maintenance_seconds"`
	Outages             int      `json:"outages"`
	TargetMet           *bool    `json:"target_met"`
}

func newAvail(segs []Segment, target *float64) Avail {
	u := Sum(segs)
	a := Avail{
		UpSeconds: u.Up.Seconds(), DowntimeSeconds: u.Down.Seconds(), UnknownSeconds: u.Unknown.Seconds(),
		NoDataSeconds: u.NoData.Seconds(), MaintenanceSeconds: u.Maintenance.Seconds(), Outages: len(Downs(segs)),
	}
	if p, ok := u.Percent(); ok {
		a.AvailabilityPercent = &p
		if target != nil {
			met := p >= *target
			a.TargetMet = &met
		}
	}
	return a
}

// CheckAvail is one check's availability.
type CheckAvail struct {
	Name string `json:"name"`
	Host string `json:"host,omitempty"`
	Type string `json:"type"`
	Avail
	Downtimes []Interval `json:"downtimes"`
}

// HostAvail is one host's availability: its host check's when it has one,
// otherwise the combined timeline of its checks (down when any is down).
type HostAvail struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Basis   string `json:"basis"` // the host check's name, or "checks"
	Checks  int    `json:"checks"`
	Avail
}

// Outage is one stretch of downtime of a check.
type Outage struct {
	Check string    `json:"check"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Seconds within the period.
	Seconds float64 `json:"seconds"`
}

// Incident is one incident of the period against the response targets.
type Incident struct {
	ID                 int64      `json:"id"`
	Check              string     `json:"check"`
	Host               string     `json:"host,omitempty"`
	Title              string     `json:"title"`
	State              string     `json:"state"`
	Status             string     `json:"status"`
	DetectedAt         time.Time  `json:"detected_at"`
	AlertedAt          time.Time  `json:"alerted_at"`
	AcknowledgedAt     *time.Time `json:"acknowledged_at"`
	AcknowledgedBy     string     `json:"acknowledged_by,omitempty"`
	RecoveredAt        *time.Time `json:"recovered_at"`
	RecoveryReportedAt *time.Time `json:"recovery_reported_at"`
	ClosedAt           *time.Time `json:"closed_at"`
	AckTarget          Target     `json:"ack_target"`
	ReportTarget       *Target    `json:"report_target"`
	AckTargetMet       *bool      `json:"ack_target_met"`
	ReportTargetMet    *bool      `json:"report_target_met"`
	Actions            []string   `json:"recovery_actions"`
	RootCause          string     `json:"root_cause,omitempty"`
	Remediation        string     `json:"remediation,omitempty"`
	Level              int        `json:"level,omitempty"` // incident level 1..3 (障害対応レベル)
}

// Ticket is an inquiry or operations work item opened or closed in the
// period.
type Ticket struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Title     string     `json:"title"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	Assignee  string     `json:"assignee,omitempty"`
}

// Window is one maintenance window occurrence in the period.
type Window struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason,omitempty"`
	Scope  string    `json:"scope"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

// HostTrends are a host's resource graphs.
type HostTrends struct {
	Host   string  `json:"host"`
	Graphs []Graph `json:"graphs"`
}

// Graph is one resource over the period, as daily min/avg/max per series.
type Graph struct {
	ID     string   `json:"id"` // cpu, load, memory, disk, network
	Unit   string   `json:"unit"`
	Series []Series `json:"series"`
}

// Series is one line of a graph.
type Series struct {
	Name string `json:"name"`
	Days []Day  `json:"days"`
}

// Day is one day's statistics of a series.
type Day struct {
	Date string  `json:"date"` // YYYY-MM-DD in the tenant's zone
	Min  float64 `json:"min"`
	Avg  float64 `json:"avg"`
	Max  float64 `json:"max"`
}
