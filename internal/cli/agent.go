package cli

import (
	"io"

	"github.com/mamori/mamori/internal/agent"
)

// cmdAgent runs the agent (see internal/agent.Main; the slim
// cmd/mamori-agent binary runs the same code).
func cmdAgent(args []string, stdout, stderr io.Writer) int {
	return agent.Main(args, stdout, stderr, VersionString())
}
