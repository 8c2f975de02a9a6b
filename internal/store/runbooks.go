package store

import "time"

// RunbookVersion is one saved version of a runbook edited through the API.
type RunbookVersion struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Markdown string    `json:"-"`
	Author   string    `json:"author"`
	Time     time.Time `json:"time"`
}
