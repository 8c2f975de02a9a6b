package broker

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnOptions says how to reach the broker.
type ConnOptions struct {
	URL    string // nats://HOST:PORT[,nats://...]
	Creds  string // file: a NATS .creds (JWT + seed), an nkey seed (SU...), or one line "user:password"
	CAFile string // CAs for tls:// brokers
	Name   string // the connection's name, shown by the broker
	Zone   string // a poller's zone: its reply subjects stay under InboxPrefix(zone)
	Log    *slog.Logger
	// OnState is told when the connection goes down or comes back.
	OnState func(connected bool)
}

// Connect connects to the broker and keeps reconnecting for ever; the
// first connection may also fail and be retried in the background.
func Connect(o ConnOptions) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1), nats.PingInterval(10 * time.Second), nats.MaxPingsOutstanding(2)}
	if o.Zone != "" {
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(o.Zone)))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.Creds != "" {
		co, err := credsOption(o.Creds)
		if err != nil {
			return nil, err
		}
		opts = append(opts, co)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	opts = append(opts,
		nats.ConnectHandler(func(*nats.Conn) { log.Info("broker connected", "url", o.URL); notify(o, true) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("broker disconnected", "err", err); notify(o, false) }),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("broker reconnected", "url", o.URL); notify(o, true) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("broker error", "subject", subj, "err", err)
		}),
	)
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("broker %s: %w", o.URL, err)
	}
	return nc, nil
}

func notify(o ConnOptions, up bool) {
	if o.OnState != nil {
		o.OnState(up)
	}
}

// credsOption reads a credentials file of one of three forms.
func credsOption(path string) (nats.Option, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("broker credentials: %w", err)
	}
	text := strings.TrimSpace(string(b))
	switch {
	case bytes.Contains(b, []byte("BEGIN NATS USER JWT")):
		return nats.UserCredentials(path), nil
	case strings.HasPrefix(text, "SU") && !strings.ContainsAny(text, " \n:"):
		opt, err := nats.NkeyOptionFromSeed(path)
		if err != nil {
			return nil, fmt.Errorf("broker credentials %s: %w", path, err)
		}
		return opt, nil
	case strings.Count(text, "\n") == 0 && strings.Contains(text, ":"):
		user, pass, _ := strings.Cut(text, ":")
		return nats.UserInfo(user, pass), nil
	}
	return nil, fmt.Errorf("broker credentials %s: neither a NATS .creds file, an nkey seed (SU...) nor one line user:password", path)
}
