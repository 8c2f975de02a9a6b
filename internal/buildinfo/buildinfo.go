// Package buildinfo says what was built: the release version and the
// commit, set by scripts/release.sh with
//
//	-ldflags "-X github.com/mamori/mamori/internal/buildinfo.Version=$(git describe --tags --always --dirty)"
//
// and read by `mamori version`, the agent's hello, mamori_build_info and
// /api/v1/status/buildinfo. A plain `go build` says "dev" plus the commit
// the Go toolchain recorded.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time (-X); see the package comment.
var (
	Version  = "dev" // git describe, e.g. v1.4.0 or v1.4.0-3-g1a2b3c4
	Revision = ""    // full commit hash (default: the toolchain's vcs.revision)
	Branch   = ""    // branch built from
	Date     = ""    // commit time, RFC 3339 (reproducible: never the build's clock)
)

func init() {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if Revision == "" {
				Revision = s.Value
			}
		case "vcs.time":
			if Date == "" {
				Date = s.Value
			}
		}
	}
}

// Short is Version, with the commit added for a development build.
func Short() string {
	if Version == "dev" && len(Revision) >= 12 {
		return Version + "+" + Revision[:12]
	}
	return Version
}

// String describes the build of program, e.g.
// "mamori v1.4.0 (go1.26.8, linux/amd64)".
func String(program string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", program, Short(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
