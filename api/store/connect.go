package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ConnectError is a failed connection to PostgreSQL told in one sentence,
// without the noise of every attempt pgx made (with sslmode=prefer it
// reports a refused TLS handshake before the real reason).
type ConnectError struct {
	// Reason says what went wrong and where, e.g. `PostgreSQL at
	// 127.0.0.1:5432 refused the password of user "ddnsbroker"`. It never
	// holds the password.
	Reason string
	Kind   ConnectKind
	Err    error
}

// ConnectKind sorts connection failures by what fixes them.
type ConnectKind int

const (
	// Unreachable may pass: the server is down, starting or full.
	Unreachable ConnectKind = iota
	// Refused are wrong credentials, or a role pg_hba.conf keeps out.
	Refused
	// NoDatabase is a database name the server does not have.
	NoDatabase
)

// Permanent tells whether trying again can help.
func (e *ConnectError) Permanent() bool { return e.Kind != Unreachable }

func (e *ConnectError) Error() string { return e.Reason }
func (e *ConnectError) Unwrap() error { return e.Err }

// ExplainConnect tells why err, from connecting to PostgreSQL, happened;
// it returns nil when err is no connection failure.
func ExplainConnect(err error) *ConnectError {
	if err == nil {
		return nil
	}
	var ce *pgconn.ConnectError
	where, user, database := "PostgreSQL", "", ""
	if errors.As(err, &ce) && ce.Config != nil {
		where = fmt.Sprintf("PostgreSQL at %s", net.JoinHostPort(ce.Config.Host, fmt.Sprint(ce.Config.Port)))
		user, database = ce.Config.User, ce.Config.Database
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01": // invalid_password
			return &ConnectError{Reason: fmt.Sprintf("%s refused the password of user %q", where, user), Kind: Refused, Err: err}
		case pe.Code == "3D000": // invalid_catalog_name
			return &ConnectError{Reason: fmt.Sprintf("%s has no database %q", where, database), Kind: NoDatabase, Err: err}
		case strings.HasPrefix(pe.Code, "28"): // invalid_authorization_specification: no such role, pg_hba.conf
			return &ConnectError{Reason: fmt.Sprintf("%s does not let user %q in: %s", where, user, pe.Message), Kind: Refused, Err: err}
		case pe.Code == "57P03": // cannot_connect_now
			return &ConnectError{Reason: where + " is starting up", Err: err}
		case pe.Code == "53300": // too_many_connections
			return &ConnectError{Reason: where + " has no free connection slot", Err: err}
		}
		if ce == nil {
			return nil // an error of a statement, not of connecting
		}
		return &ConnectError{Reason: fmt.Sprintf("%s refused the connection: %s", where, pe.Message), Err: err}
	}
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &de):
		return &ConnectError{Reason: fmt.Sprintf("%s cannot be reached: the name %q is not known", where, de.Name), Err: err}
	case errors.As(err, &oe):
		return &ConnectError{Reason: fmt.Sprintf("%s cannot be reached: %v", where, oe.Err), Err: err}
	case ce != nil && (errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)):
		return &ConnectError{Reason: where + " did not answer in time", Err: err}
	case ce != nil:
		return &ConnectError{Reason: fmt.Sprintf("%s cannot be reached: %v", where, innermost(err)), Err: err}
	}
	return nil
}

// innermost is the last error of a chain: with several attempts joined,
// the last attempt's.
func innermost(err error) error {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next := u.Unwrap()
			if next == nil {
				return err
			}
			err = next
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			if len(errs) == 0 {
				return err
			}
			err = errs[len(errs)-1]
		default:
			return err
		}
	}
}
