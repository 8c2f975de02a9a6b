// Package ftpcheck is the "ftp" check type: 220 greeting, optional AUTH TLS,
// login, and optionally list a directory, retrieve a file and store (then
// delete) a file, in passive mode.
package ftpcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// Defaults from the seed's first service table (hosting option): WARNING
// when the answer takes 6–11 s, CRITICAL over 11 s. See docs/checks.md.
func init() {
	check.Register(&check.Kind{
		Name:    "ftp",
		Label:   "FTP",
		Summary: "FTP 220 greeting, optional AUTH TLS and login, list, retrieve and store a file",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 21, Timing: proto.Timing{Warning: 6 * time.Second, Critical: 11 * time.Second}}
		},
	})
}

// Spec is the ftp check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"FTP control port"`
	proto.Timing
	ExpectBanner string       `yaml:"expect_banner" help:"substring the greeting must contain (WARNING if not)"`
	TLS          bool         `yaml:"tls" help:"explicit TLS: AUTH TLS before login, protected data connections"`
	User         string       `yaml:"user" help:"user to log in as (without it only the greeting is checked)"`
	Password     check.Secret `yaml:"password" help:"password (${ENV} or file:PATH)"`
	List         string       `yaml:"list" help:"directory to LIST after login (\".\" for the login directory)"`
	Retrieve     string       `yaml:"retrieve" help:"file to RETR after login"`
	Expect       string       `yaml:"expect" help:"substring the retrieved file must contain"`
	Store        string       `yaml:"store" help:"directory to STOR a small file mamori-check-RANDOM into (then DELE it)"`
	proto.TLSOptions
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes(), s.ValidateDays(),
		proto.ValidateLogin(s.User, s.Password))
	for _, f := range []struct{ key, val string }{{"list", s.List}, {"retrieve", s.Retrieve}, {"store", s.Store}} {
		if f.val != "" && s.User == "" {
			errs = append(errs, check.Errf(f.key, "needs user and password"))
		}
		if strings.ContainsAny(f.val, "\r\n") {
			errs = append(errs, check.Errf(f.key, "must not contain line breaks"))
		}
	}
	if s.Expect != "" && s.Retrieve == "" {
		errs = append(errs, check.Errf("expect", "needs retrieve (it is matched against the retrieved file)"))
	}
	if strings.ContainsAny(s.User+s.Password.Reveal(), "\r\n") {
		errs = append(errs, check.Errf("user", "user and password must not contain line breaks"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s}
	var err error
	if c.tls, err = s.ClientTLS(s.TLS, s.Host); err != nil {
		return nil, err
	}
	return c, nil
}

// Limits on data transfers: what is kept in memory of a listing or a file.
const (
	maxList = 1 << 20
	maxKeep = 1 << 20
)

type checker struct {
	spec Spec
	tls  *tls.Config
}

func (c *checker) Check(ctx context.Context) check.Result {
	return proto.Run(ctx, c.spec.Host, c.spec.Port, c.spec.Timing, c.run)
}

// refused turns a *ReplyError into a CRITICAL "what: 553 ..." and passes
// other errors to proto.Step.
func refused(ctx context.Context, what string, err error) error {
	var re *proto.ReplyError
	if errors.As(err, &re) {
		return proto.Fail(check.Critical, "%s: %s", what, proto.Clip(re.Reply.Text()))
	}
	return proto.Step(ctx, what, err)
}

func (c *checker) run(ctx context.Context, r *proto.Report) error {
	conn, _, err := r.Open(ctx, false, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	f := &proto.FTP{Conn: conn}
	g, err := f.ReadReply()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if err := r.Greeting(g.Text(), g.Code == 220, c.spec.ExpectBanner, f.Quit); err != nil {
		return err
	}
	if c.spec.TLS {
		st, err := f.AuthTLS(c.tls)
		if err != nil {
			return refused(ctx, "AUTH TLS", err)
		}
		r.Add("AUTH TLS ok (%s)", tls.VersionName(st.Version))
		c.spec.GradeDays(r, st)
	}
	if c.spec.User == "" {
		f.Quit()
		return nil
	}
	if err := f.Login(c.spec.User, c.spec.Password.Reveal()); err != nil {
		var re *proto.ReplyError
		if errors.As(err, &re) && re.What == "login failed" {
			f.Quit()
			return proto.Fail(check.Critical, "login failed for user '%s': %s", c.spec.User, proto.Clip(re.Reply.Text()))
		}
		return refused(ctx, fmt.Sprintf("login as '%s'", c.spec.User), err)
	}
	r.Add("logged in as '%s'", c.spec.User)
	if c.spec.List != "" {
		var entries int
		err := f.Transfer("list refused", "LIST "+c.spec.List, func(rw io.ReadWriter) error {
			b, _, err := proto.ReadAtMost(rw, maxList)
			entries = countLines(b)
			return err
		})
		if err != nil {
			return refused(ctx, fmt.Sprintf("list '%s'", c.spec.List), err)
		}
		r.Add("listed '%s' (%d entries)", c.spec.List, entries)
		r.Perf = append(r.Perf, check.M("entries", float64(entries), ""))
	}
	if c.spec.Retrieve != "" {
		if err := c.retrieve(ctx, r, f); err != nil {
			return err
		}
	}
	if c.spec.Store != "" {
		if err := c.store(ctx, r, f); err != nil {
			return err
		}
	}
	f.Quit()
	return nil
}

// retrieve downloads the retrieve file (keeping its first bytes) and
// checks it contains expect.
func (c *checker) retrieve(ctx context.Context, r *proto.Report, f *proto.FTP) error {
	var kept []byte
	var size int64
	err := f.Transfer("retrieve refused", "RETR "+c.spec.Retrieve, func(rw io.ReadWriter) error {
		var err error
		kept, size, err = proto.ReadAtMost(rw, maxKeep)
		return err
	})
	if err != nil {
		return refused(ctx, fmt.Sprintf("retrieve '%s'", c.spec.Retrieve), err)
	}
	r.Perf = append(r.Perf, check.M("size", float64(size), "B"))
	if c.spec.Expect != "" && !bytes.Contains(kept, []byte(c.spec.Expect)) {
		f.Quit()
		return proto.Fail(check.Critical, "retrieved '%s' (%d bytes) does not contain '%s'", c.spec.Retrieve, size, c.spec.Expect)
	}
	r.Add("retrieved '%s' (%d bytes)", c.spec.Retrieve, size)
	return nil
}

// store uploads a small uniquely named file into the store directory and
// deletes it again; a refused delete is a warning.
func (c *checker) store(ctx context.Context, r *proto.Report, f *proto.FTP) error {
	name := path.Join(c.spec.Store, "mamori-check-"+randomHex(6))
	body := fmt.Sprintf("mamori check %s\n", time.Now().UTC().Format(time.RFC3339))
	err := f.Transfer("store refused", "STOR "+name, func(rw io.ReadWriter) error {
		_, err := io.WriteString(rw, body)
		return err
	})
	if err != nil {
		var re *proto.ReplyError
		if errors.As(err, &re) {
			f.Quit()
			return proto.Fail(check.Critical, "store refused: %s (%s)", proto.Clip(re.Reply.Text()), name)
		}
		return proto.Step(ctx, fmt.Sprintf("store '%s'", name), err)
	}
	if err := f.Cmd2("DELE " + name); err != nil {
		var re *proto.ReplyError
		if !errors.As(err, &re) {
			return proto.Step(ctx, fmt.Sprintf("delete '%s'", name), err)
		}
		r.Grade(check.Warning, fmt.Sprintf("stored '%s' but could not delete it: %s", name, proto.Clip(re.Reply.Text())))
	} else {
		r.Add("stored and deleted '%s'", name)
	}
	return nil
}

func countLines(b []byte) int {
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
