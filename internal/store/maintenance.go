package store

import "time"

// MaintenanceRow is a maintenance window created through the API or CLI;
// Body is the window as JSON (see internal/maintenance).
type MaintenanceRow struct {
	ID        int64
	Body      []byte
	CreatedAt time.Time
	CreatedBy string
}

// Suppressed is a hard problem that a maintenance window kept quiet; it is
// alerted when the window ends if it is still there.
type Suppressed struct {
	Check   string
	EventID int64
	Time    time.Time
}
