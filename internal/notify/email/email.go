// Package email implements the email channel: SMTP submission (implicit TLS
// or STARTTLS, AUTH PLAIN or LOGIN) of a MIME message with a plain-text and
// an HTML part, UTF-8, the subject encoded per RFC 2047.
//
// Errors: a 5xx answer to MAIL, RCPT or DATA (or AUTH) is permanent; 4xx
// answers, connection and TLS failures are temporary. The Message-ID is
// derived from the message id, so a retry carries the same Message-ID. The
// receipt's ProviderID is the queue id from the 250 answer to DATA
// ("250 2.0.0 Ok: queued as 4Xyz…"), when the server gives one.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

func init() {
	notify.Register(&notify.Kind{
		Name:      "email",
		Summary:   "email over SMTP (STARTTLS or TLS, AUTH), plain text and HTML",
		Recipient: "email",
		New:       func() notify.Spec { return &Spec{Port: 587, StartTLS: true} },
	})
}

// Spec is the configuration of an email channel.
type Spec struct {
	Host               string       `yaml:"smtp_host" help:"SMTP server" required:"true"`
	Port               int          `yaml:"smtp_port" help:"SMTP port (587 submission, 465 implicit TLS, 25)"`
	TLS                bool         `yaml:"tls" help:"implicit TLS from the first byte (SMTPS, port 465; default on for port 465)"`
	StartTLS           bool         `yaml:"starttls" help:"require STARTTLS before AUTH and the message (ignored with tls)"`
	Username           string       `yaml:"username" help:"user for SMTP AUTH (PLAIN or LOGIN); empty: no AUTH"`
	Password           check.Secret `yaml:"password" help:"password for SMTP AUTH; ${ENV} or file:PATH"`
	AllowInsecureAuth  bool         `yaml:"allow_insecure_auth" help:"allow AUTH over a connection without TLS (the password travels in clear)"`
	From               string       `yaml:"from" help:"sender address, e.g. \"mamori <mamori@example.jp>\"" required:"true"`
	To                 []string     `yaml:"to" help:"default recipients, when the contact has no email"`
	CAFile             string       `yaml:"ca_file" help:"PEM file of the CA certificates that sign the server's certificate (default: the system's)"`
	InsecureSkipVerify bool         `yaml:"insecure_skip_verify" help:"do not verify the server's certificate"`
	HELO               string       `yaml:"helo" help:"name sent in EHLO/HELO (default: this machine's host name)"`
}

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Host == "" {
		errs = append(errs, check.Errf("smtp_host", "is required"))
	}
	if s.Port < 1 || s.Port > 65535 {
		errs = append(errs, check.Errf("smtp_port", "%d is not a port", s.Port))
	}
	if s.From == "" {
		errs = append(errs, check.Errf("from", "is required"))
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		errs = append(errs, check.Errf("from", "%q is not an address: %v", s.From, err))
	}
	for _, to := range s.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs = append(errs, check.Errf("to", "%q is not an address: %v", to, err))
		}
	}
	if s.Username != "" && s.Password.Reveal() == "" {
		errs = append(errs, check.Errf("password", "is required with username"))
	}
	if s.Username != "" && !s.implicitTLS() && !s.StartTLS && !s.AllowInsecureAuth {
		errs = append(errs, check.Errf("username", "AUTH without TLS sends the password in clear: set starttls or tls (or allow_insecure_auth)"))
	}
	if s.CAFile != "" {
		if _, err := os.ReadFile(s.CAFile); err != nil {
			errs = append(errs, check.Errf("ca_file", "%v", err))
		}
	}
	return errs
}

func (s *Spec) implicitTLS() bool { return s.TLS || s.Port == 465 }

// New implements notify.Spec.
func (s *Spec) New(env notify.Env) (notify.Notifier, error) {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	tc := &tls.Config{ServerName: s.Host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no PEM certificate in %s", s.CAFile)
		}
		tc.RootCAs = pool
	}
	helo := s.HELO
	if helo == "" {
		helo, _ = os.Hostname()
		if helo == "" || strings.ContainsAny(helo, " \t\r\n") {
			helo = "localhost"
		}
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		addr:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		implicit: s.implicitTLS(),
		starttls: s.StartTLS,
		user:     s.Username,
		pass:     s.Password.Reveal(),
		insecure: s.AllowInsecureAuth,
		from:     from,
		to:       s.To,
		tls:      tc,
		helo:     helo,
		log:      log,
		now:      time.Now,
		dialer:   &net.Dialer{},
	}, nil
}

// Notifier sends mail through one SMTP server.
type Notifier struct {
	addr     string
	implicit bool
	starttls bool
	user     string
	pass     string
	insecure bool
	from     *mail.Address
	to       []string
	tls      *tls.Config
	helo     string
	log      *slog.Logger
	now      func() time.Time
	dialer   *net.Dialer
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Subject == "" && m.Text == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	var rcpts []*mail.Address
	var err error
	if m.To != "" {
		rcpts, err = mail.ParseAddressList(m.To)
	} else if len(n.to) > 0 {
		rcpts, err = mail.ParseAddressList(strings.Join(n.to, ", "))
	}
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("email: recipient %q: %w", m.To, err))
	}
	if len(rcpts) == 0 {
		return notify.Receipt{}, notify.Permanent(errors.New("email: no recipient (the contact has no email and the channel no default to)"))
	}
	msg, err := Build(&m, n.from, rcpts, n.now())
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	return n.send(ctx, rcpts, msg)
}

// ---- MIME ----

// MessageID is the Message-ID of a message id: the same on every retry.
func MessageID(id string, from *mail.Address) string {
	domain := "mamori.invalid"
	if at := strings.LastIndexByte(from.Address, '@'); at >= 0 && at < len(from.Address)-1 {
		domain = from.Address[at+1:]
	}
	sum := sha256.Sum256([]byte(id))
	return "<mamori." + hex.EncodeToString(sum[:12]) + "@" + domain + ">"
}

// ThreadID is the Message-ID of the thread root of an incident's mails
// (notify.Message.Thread): the same for all of them.
func ThreadID(thread string, from *mail.Address) string {
	return MessageID("thread/"+thread, from)
}

// encodeSubject encodes a subject per RFC 2047 (B encoding, UTF-8) when it
// is not plain ASCII: encoded words of at most 39 octets of text each (64
// characters), one per line, so that every header line stays within 78.
func encodeSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if mime.BEncoding.Encode("UTF-8", s) == s {
		return s
	}
	var words []string
	var chunk []byte
	flush := func() {
		if len(chunk) > 0 {
			words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString(chunk)+"?=")
			chunk = chunk[:0]
		}
	}
	for _, r := range s {
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		if len(chunk)+n > 39 {
			flush()
		}
		chunk = append(chunk, buf[:n]...)
	}
	flush()
	return strings.Join(words, "\r\n ")
}

func formatAddress(a *mail.Address) string { return a.String() } // encodes a non-ASCII name per RFC 2047

// Build renders the whole message (headers and body, CRLF line ends):
// multipart/alternative with quoted-printable text/plain and text/html parts
// (text/plain only when there is no HTML).
func Build(m *notify.Message, from *mail.Address, to []*mail.Address, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", formatAddress(from))
	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = formatAddress(a)
	}
	h("To", strings.Join(tos, ",\r\n "))
	h("Subject", encodeSubject(m.Subject))
	h("Date", date.Format(time.RFC1123Z))
	h("Message-ID", MessageID(m.ID, from))
	if m.Thread != "" {
		// Every mail of one incident (problem, escalations, acknowledgement,
		// recovery) refers to the same root, so mail clients thread them.
		root := ThreadID(m.Thread, from)
		h("In-Reply-To", root)
		h("References", root)
	}
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("X-Auto-Response-Suppress", "All")
	if m.Kind != "" {
		h("X-Mamori-Kind", m.Kind)
	}
	if m.IncidentID != 0 {
		h("X-Mamori-Incident", strconv.FormatInt(m.IncidentID, 10))
	}
	text := m.Text
	if text == "" {
		text = m.Subject + "\n"
	}
	if len(m.Attachments) > 0 {
		return buildMixed(&b, h, m, text)
	}
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=UTF-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	sum := sha256.Sum256([]byte("boundary:" + m.ID))
	if err := mw.SetBoundary("mamori-" + hex.EncodeToString(sum[:12])); err != nil {
		return nil, err
	}
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=UTF-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// buildMixed writes a multipart/mixed body: the text, then each
// attachment in base64 (file names per RFC 2231 when not ASCII).
func buildMixed(b *bytes.Buffer, h func(k, v string), m *notify.Message, text string) ([]byte, error) {
	mw := multipart.NewWriter(b)
	sum := sha256.Sum256([]byte("mixed:" + m.ID))
	if err := mw.SetBoundary("mamori-" + hex.EncodeToString(sum[:12])); err != nil {
		return nil, err
	}
	h("Content-Type", `multipart/mixed; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=UTF-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return nil, err
	}
	if err := writeQP(w, text); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.Name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			io.WriteString(w, enc[:76]+"\r\n")
			enc = enc[76:]
		}
		io.WriteString(w, enc+"\r\n")
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// writeQP writes s quoted-printable with CRLF line breaks.
func writeQP(w io.Writer, s string) error {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// ---- SMTP ----

// replyError is an SMTP answer other than the expected one.
type replyError struct {
	cmd  string
	code int
	msg  string
}

func (e *replyError) Error() string {
	return fmt.Sprintf("smtp %s: %d %s", e.cmd, e.code, check.OneLine(e.msg))
}

// classify makes 5xx answers permanent.
func classify(err error) error {
	var re *replyError
	if errors.As(err, &re) && re.code >= 500 {
		return notify.Permanent(err)
	}
	return err
}

type conn struct {
	c    net.Conn
	text *textproto.Conn
	ext  map[string]string
}

func (c *conn) cmd(name string, expect int, format string, args ...any) (int, string, error) {
	id, err := c.text.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	c.text.StartResponse(id)
	defer c.text.EndResponse(id)
	code, msg, err := c.text.ReadResponse(expect)
	var te *textproto.Error
	if errors.As(err, &te) {
		return code, msg, &replyError{cmd: name, code: te.Code, msg: te.Msg}
	}
	return code, msg, err
}

func (c *conn) hello(name string) error {
	_, msg, err := c.cmd("EHLO", 250, "EHLO %s", name)
	if err != nil {
		var re *replyError
		if errors.As(err, &re) && re.code >= 500 {
			_, _, err = c.cmd("HELO", 250, "HELO %s", name)
			c.ext = map[string]string{}
		}
		return err
	}
	c.ext = map[string]string{}
	lines := strings.Split(msg, "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.ext[strings.ToUpper(k)] = v
	}
	return nil
}

var queuedRE = regexp.MustCompile(`(?i)(?:queued as|id=)\s*([A-Za-z0-9._-]+)`)

func (n *Notifier) send(ctx context.Context, rcpts []*mail.Address, msg []byte) (notify.Receipt, error) {
	var rc notify.Receipt
	raw, err := n.dialer.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return rc, fmt.Errorf("email: %w", err)
	}
	defer raw.Close()
	// The whole conversation honours ctx: its deadline on the connection,
	// and cancellation closes it.
	if d, ok := ctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (notify.Receipt, error) {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		var re *replyError
		if errors.As(err, &re) {
			rc.Status = re.code
		}
		return rc, classify(fmt.Errorf("email: %w", err))
	}
	c, err := n.session(ctx, raw)
	var final finalError
	switch {
	case errors.As(err, &final):
		return rc, final.error
	case err != nil:
		return fail(err)
	}
	code, answer, err := n.transfer(c, rcpts, msg)
	if err != nil {
		return fail(err)
	}
	rc.Status = code
	if mm := queuedRE.FindStringSubmatch(answer); mm != nil {
		rc.ProviderID = mm[1]
	}
	c.cmd("QUIT", 221, "QUIT") // delivered: the answer to QUIT does not matter
	return rc, nil
}

func (n *Notifier) auth(c *conn) error {
	mechs := strings.Fields(strings.ToUpper(c.ext["AUTH"]))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case has("PLAIN"):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + n.user + "\x00" + n.pass))
		_, _, err := c.cmd("AUTH", 235, "AUTH PLAIN %s", ir)
		return err
	case has("LOGIN"):
		if _, _, err := c.cmd("AUTH", 334, "AUTH LOGIN"); err != nil {
			return err
		}
		if _, _, err := c.cmd("AUTH", 334, "%s", base64.StdEncoding.EncodeToString([]byte(n.user))); err != nil {
			return err
		}
		_, _, err := c.cmd("AUTH", 235, "%s", base64.StdEncoding.EncodeToString([]byte(n.pass)))
		return err
	case len(mechs) == 0:
		return notify.Permanent(errors.New("the server does not offer AUTH"))
	}
	return notify.Permanent(fmt.Errorf("the server offers no supported AUTH mechanism (PLAIN, LOGIN): %s", c.ext["AUTH"]))
}
