// Package examples ships the example configuration that `mamori server`
// runs on when it is given no --config.
package examples

import _ "embed"

// Default is examples/mamori.yaml: it monitors the machine mamori runs on.
//
//go:embed mamori.yaml
var Default []byte

// DefaultName names the embedded file in messages.
const DefaultName = "examples/mamori.yaml (embedded)"
