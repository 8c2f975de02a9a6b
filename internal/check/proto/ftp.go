package proto

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// FTP is a minimal FTP client over a Conn: passive mode only.
type FTP struct {
	*Conn
	// DataTLS, when set, protects data connections (after PROT P).
	DataTLS *tls.Config
}

// RequestAuthTLS sends AUTH TLS and expects 234, without the handshake.
func (f *FTP) RequestAuthTLS() error {
	r, err := f.Cmd("AUTH TLS")
	if err != nil {
		return err
	}
	if r.Code != 234 {
		return &ReplyError{What: "AUTH TLS refused", Reply: r}
	}
	return nil
}

// AuthTLS upgrades the control connection (AUTH TLS) and asks for
// protected data connections (PBSZ 0, PROT P).
func (f *FTP) AuthTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	if err := f.RequestAuthTLS(); err != nil {
		return nil, err
	}
	st, err := f.UpgradeTLS(cfg)
	if err != nil {
		return nil, err
	}
	f.DataTLS = cfg
	return st, nil
}

// protect sends PBSZ 0 and PROT P; it must follow login on some servers.
func (f *FTP) protect() error {
	if f.DataTLS == nil {
		return nil
	}
	if r, err := f.Cmd("PBSZ 0"); err != nil {
		return err
	} else if r.Class() != 2 {
		return &ReplyError{What: "PBSZ refused", Reply: r}
	}
	if r, err := f.Cmd("PROT P"); err != nil {
		return err
	} else if r.Class() != 2 {
		return &ReplyError{What: "PROT P refused", Reply: r}
	}
	return nil
}

// Login sends USER and PASS (and then PBSZ/PROT when TLS is on). A refusal
// is a *ReplyError "login failed".
func (f *FTP) Login(user, pass string) error {
	r, err := f.Cmd("USER %s", user)
	if err != nil {
		return err
	}
	if r.Code == 331 || r.Code == 332 {
		if r, err = f.Cmd("PASS %s", pass); err != nil {
			return err
		}
	}
	if r.Code != 230 && r.Code != 202 {
		return &ReplyError{What: "login failed", Reply: r}
	}
	if err := f.Cmd2("TYPE I"); err != nil {
		return err
	}
	return f.protect()
}

// Cmd2 sends a command that must get a 2xx reply.
func (f *FTP) Cmd2(cmd string) error {
	r, err := f.Cmd("%s", cmd)
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return &ReplyError{What: strings.Fields(cmd)[0] + " refused", Reply: r}
	}
	return nil
}

// dataConn opens a passive data connection (EPSV, else PASV). With PASV the
// address the server names is ignored but for its port: the data
// connection goes to the control connection's host, as with EPSV.
func (f *FTP) dataConn() (net.Conn, error) {
	host, _, _ := net.SplitHostPort(f.NetConn().RemoteAddr().String())
	port := 0
	r, err := f.Cmd("EPSV")
	if err != nil {
		return nil, err
	}
	if r.Code == 229 {
		t := r.Text()
		i, j := strings.Index(t, "(|||"), strings.LastIndex(t, "|)")
		if i < 0 || j < i+4 {
			return nil, fmt.Errorf("malformed EPSV reply %q", clip(t))
		}
		if port, err = strconv.Atoi(t[i+4 : j]); err != nil {
			return nil, fmt.Errorf("malformed EPSV reply %q", clip(t))
		}
	} else {
		if r, err = f.Cmd("PASV"); err != nil {
			return nil, err
		}
		if r.Code != 227 {
			return nil, &ReplyError{What: "passive mode refused", Reply: r}
		}
		if port, err = pasvPort(r.Text()); err != nil {
			return nil, err
		}
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("bad passive port %d", port)
	}
	var d net.Dialer
	nc, err := d.DialContext(f.Ctx(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}
	if dl, ok := f.Ctx().Deadline(); ok {
		nc.SetDeadline(dl)
	}
	return nc, nil
}

func pasvPort(t string) (int, error) {
	i := strings.IndexByte(t, '(')
	j := strings.IndexByte(t, ')')
	var s string
	if i >= 0 && j > i {
		s = t[i+1 : j]
	} else { // "227 Entering Passive Mode 127,0,0,1,4,1"
		f := strings.Fields(t)
		s = f[len(f)-1]
	}
	p := strings.Split(s, ",")
	if len(p) != 6 {
		return 0, fmt.Errorf("malformed PASV reply %q", clip(t))
	}
	hi, err1 := strconv.Atoi(strings.TrimSpace(p[4]))
	lo, err2 := strconv.Atoi(strings.TrimSpace(p[5]))
	if err1 != nil || err2 != nil || hi < 0 || hi > 255 || lo < 0 || lo > 255 {
		return 0, fmt.Errorf("malformed PASV reply %q", clip(t))
	}
	return hi<<8 | lo, nil
}

// Transfer runs a data command (LIST, NLST, RETR, STOR): it opens the data
// connection, sends cmd, and on a 1xx preliminary reply calls fn with the
// data connection (TLS when protected), then reads the final reply. A
// refusal is a *ReplyError described by what.
func (f *FTP) Transfer(what, cmd string, fn func(io.ReadWriter) error) error {
	nc, err := f.dataConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(f.Ctx(), func() { nc.Close() })
	defer stop()
	defer nc.Close()
	r, err := f.Cmd("%s", cmd)
	if err != nil {
		return err
	}
	if r.Class() != 1 {
		if r.Class() == 2 { // finished already (empty transfer)
			return nil
		}
		return &ReplyError{What: what, Reply: r}
	}
	var data io.ReadWriter = nc
	if f.DataTLS != nil {
		tc := tls.Client(nc, f.DataTLS)
		if err := tc.HandshakeContext(f.Ctx()); err != nil {
			return fmt.Errorf("data connection TLS: %w", err)
		}
		data = tc
		defer tc.Close()
	}
	ferr := fn(data)
	if tc, ok := data.(*tls.Conn); ok {
		tc.CloseWrite()
		tc.Close()
	}
	nc.Close()
	if ferr != nil {
		return ferr
	}
	if r, err = f.ReadReply(); err != nil {
		return err
	}
	if r.Class() != 2 {
		return &ReplyError{What: what, Reply: r}
	}
	return nil
}

// ReadAtMost reads r to its end, keeping at most keep bytes; it returns the
// kept bytes and the total count.
func ReadAtMost(r io.Reader, keep int) ([]byte, int64, error) {
	buf := make([]byte, 0, min(keep, 64<<10))
	var total int64
	chunk := make([]byte, 32<<10)
	for {
		n, err := r.Read(chunk)
		total += int64(n)
		if room := keep - len(buf); room > 0 {
			buf = append(buf, chunk[:min(n, room)]...)
		}
		if errors.Is(err, io.EOF) {
			return buf, total, nil
		}
		if err != nil {
			return buf, total, err
		}
	}
}

// Quit sends QUIT.
func (f *FTP) Quit() { f.Bye("QUIT") }
