package proto

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/mamori/mamori/internal/check"
)

// Error is a failure that carries its verdict and a one-line reason.
type Error struct {
	Status check.Status
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Fail makes an Error with a formatted reason.
func Fail(s check.Status, format string, args ...any) error {
	return &Error{Status: s, Msg: check.OneLine(fmt.Sprintf(format, args...))}
}

// Step turns an I/O error during a step ("reading greeting") into a
// CRITICAL Error "reading greeting: timed out". An Error passes unchanged.
func Step(ctx context.Context, what string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: check.Critical, Msg: check.OneLine(what + ": " + Describe(ctx, err))}
}

// Verdict is the status and reason of err: an Error's own, else CRITICAL.
func Verdict(ctx context.Context, err error) (check.Status, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Status, e.Msg
	}
	return check.Critical, Describe(ctx, err)
}

// Describe says in a few words what went wrong with a network operation:
// "connection refused", "timed out", "connection closed by server", ...
func Describe(ctx context.Context, err error) string {
	if err == nil {
		return "no error"
	}
	var ne net.Error
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
	switch {
	case ctx != nil && errors.Is(ctx.Err(), context.Canceled):
		return "cancelled"
	case timeout:
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server in mid-line"
	case errors.Is(err, io.EOF):
		return "connection closed by server"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "certificate is not valid for this host: " + hostErr.Error()
	}
	var uaErr x509.UnknownAuthorityError
	if errors.As(err, &uaErr) {
		return "certificate signed by an unknown authority"
	}
	var invErr x509.CertificateInvalidError
	if errors.As(err, &invErr) {
		return "certificate is invalid: " + invErr.Error()
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return "TLS alert from server: " + alert.Error()
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return "server does not speak TLS here"
	}
	msg := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		msg = op.Err.Error()
	}
	return strings.TrimPrefix(msg, "tls: ")
}
