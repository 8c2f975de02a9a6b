package cli

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/mamori/mamori/examples"
	"github.com/mamori/mamori/internal/config"
)

// embeddedSelfURL is the console URL the embedded example's self-check
// names; the server points it at the address it actually listens on.
const embeddedSelfURL = "http://127.0.0.1:8484/"

// embeddedFor parses the embedded example with its self-check aimed at
// addr (the address the server bound, whatever --listen said), so that a
// first start on another port is green too.
func embeddedFor(addr net.Addr) (*config.Config, error) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	self := "http://" + net.JoinHostPort(host, port) + "/"
	return config.Parse(examples.DefaultName, bytes.ReplaceAll(examples.Default, []byte(embeddedSelfURL), []byte(self)))
}

// warnNoChannels says, in the log and on standard output, that problems
// reach no one but the console when the config has no notification channel.
func warnNoChannels(cfg *config.Config, stdout io.Writer, log *slog.Logger) {
	if len(cfg.Channels) > 0 {
		return
	}
	const msg = "no notification channel is configured: problems are shown on the console only, nobody is notified"
	log.Warn(msg, "fix", "add channels: (email, slack, webhook, twilio...) and notify: to the config, see docs/config.md")
	fmt.Fprintf(stdout, "NOTE: %s; add channels: to the config (docs/config.md)\n", msg)
}
