// Command mamori-agent is the agent alone: the same code as `mamori agent`,
// linked with only the check types an agent runs (no database drivers, no
// server), so that it stays small on the monitored host.
package main

import (
	"os"

	"github.com/mamori/mamori/internal/agent"
	"github.com/mamori/mamori/internal/buildinfo"

	// Agent-side check types.
	_ "github.com/mamori/mamori/internal/check/diskcheck"
	_ "github.com/mamori/mamori/internal/check/loadcheck"
	_ "github.com/mamori/mamori/internal/check/logcheck"
	_ "github.com/mamori/mamori/internal/check/memcheck"
	_ "github.com/mamori/mamori/internal/check/proccheck"
	_ "github.com/mamori/mamori/internal/check/servicecheck"
	_ "github.com/mamori/mamori/internal/check/wineventcheck"

	// Network checks an agent may run locally (on_agent: true).
	_ "github.com/mamori/mamori/internal/check/dnscheck"
	_ "github.com/mamori/mamori/internal/check/execcheck"
	_ "github.com/mamori/mamori/internal/check/ftpcheck"
	_ "github.com/mamori/mamori/internal/check/httpcheck"
	_ "github.com/mamori/mamori/internal/check/imapcheck"
	_ "github.com/mamori/mamori/internal/check/pop3check"
	_ "github.com/mamori/mamori/internal/check/smtpcheck"
	_ "github.com/mamori/mamori/internal/check/sshcheck"
	_ "github.com/mamori/mamori/internal/check/tcpcheck"
	_ "github.com/mamori/mamori/internal/check/tlscheck"
)

func main() {
	os.Exit(agent.Main(os.Args[1:], os.Stdout, os.Stderr, buildinfo.String("mamori-agent")))
}
