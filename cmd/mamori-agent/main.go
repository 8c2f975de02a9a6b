// Command mamori-agent is the agent alone: the same code as `mamori agent`,
// linked with only the check types an agent runs (no database drivers, no
// server), so that it stays small on the monitored host.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/mamori/mamori/internal/agent"

	// Agent-side check types.
	_ "github.com/mamori/mamori/internal/check/diskcheck"
	_ "github.com/mamori/mamori/internal/check/efscheck"
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

// Version is set at build time with -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func main() {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	os.Exit(agent.Main(os.Args[1:], os.Stdout, os.Stderr, fmt.Sprintf("mamori-agent %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)))
}
