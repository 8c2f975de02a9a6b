// Command mamori is the monitoring and first-response server, its check
// runner and its tools. Wiring only: see internal/cli.
package main

import (
	"os"

	_ "github.com/mamori/mamori/internal/check/all" // every check type
	"github.com/mamori/mamori/internal/cli"
	_ "github.com/mamori/mamori/internal/notify/all"   // every notification channel
	_ "github.com/mamori/mamori/internal/recovery/all" // every recovery action
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
