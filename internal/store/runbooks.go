package store

import (
	"context"
	"time"
)

// RunbookVersion is one saved version of a runbook edited through the API.
type RunbookVersion struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Markdown string    `json:"-"`
	Author   string    `json:"author"`
	Time     time.Time `json:"time"`
}

// Runbooks keeps the versions of runbooks edited through the API.
type Runbooks interface {
	// SaveRunbook stores a new version and returns its number (1, 2, ...).
	SaveRunbook(ctx context.Context, name, markdown, author string) (int, error)
	// RunbookVersions lists a runbook's versions, newest first, without text.
	RunbookVersions(ctx context.Context, name string) ([]RunbookVersion, error)
	// RunbookVersion reads one version (0 = the latest).
	RunbookVersion(ctx context.Context, name string, version int) (*RunbookVersion, error)
	// LatestRunbooks returns the latest version of every runbook.
	LatestRunbooks(ctx context.Context) ([]RunbookVersion, error)
}
