package store

import (
	"context"
	"time"
)

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

// Maintenances persists maintenance windows and what they suppressed.
type Maintenances interface {
	CreateMaintenance(ctx context.Context, body []byte, createdBy string) (int64, error)
	Maintenances(ctx context.Context) ([]MaintenanceRow, error)
	DeleteMaintenance(ctx context.Context, id int64) error
	Suppress(ctx context.Context, tx Tx, check string, eventID int64, t time.Time) error
	SuppressedList(ctx context.Context) ([]Suppressed, error)
	Unsuppress(ctx context.Context, tx Tx, check string) error
}
