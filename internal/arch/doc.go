// Package arch holds no code: its tests keep the architecture of
// docs/architecture.md — the import layering and the size of functions
// and files.
package arch
