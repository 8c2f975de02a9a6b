package cli

import (
	"io"

	"github.com/mamori/mamori/internal/poller"
)

// cmdPoller runs a zone's poller (see internal/poller).
func cmdPoller(args []string, stdout, stderr io.Writer) int {
	return poller.Main(args, stdout, stderr, VersionString())
}
