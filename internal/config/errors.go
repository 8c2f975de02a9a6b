package config

import "github.com/mamori/mamori/internal/yamlx"

// Error is one problem in the configuration: mamori's one YAML error type
// (file, line, column, field path, message).
type Error = yamlx.Error

// Errors is every problem found, sorted by file and line.
type Errors = yamlx.Errors
