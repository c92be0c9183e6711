package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// problemContentType is RFC 9457's media type.
const problemContentType = "application/problem+json"

// apiError is a client error a handler or middleware decided on, with what
// to tell the client.
type apiError struct {
	status int
	detail string
	fields []FieldError
	// code tells clients what to do (the Problem's code), when they can act on it.
	code string
}

func (e *apiError) Error() string {
	if len(e.fields) > 0 {
		return fmt.Sprintf("%d: %s (%d field errors)", e.status, e.detail, len(e.fields))
	}
	return fmt.Sprintf("%d: %s", e.status, e.detail)
}

func notFound(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, detail: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &apiError{status: http.StatusConflict, detail: fmt.Sprintf(format, args...)}
}

// malformed is a request whose body cannot be read at all: not JSON, not
// an object, not sent as JSON. Messages say what to send instead.
func malformed(messages ...string) error {
	fields := make([]FieldError, len(messages))
	for i, m := range messages {
		fields[i] = FieldError{Message: m}
	}
	return &apiError{status: http.StatusBadRequest, detail: strings.Join(messages, "; "), fields: fields}
}

// invalid is a request that could be read but has values that cannot be
// taken, whether the spec or a rule of the domain refuses them: 422 naming
// each field and why, the detail saying the same in one sentence.
func invalid(fields ...FieldError) error {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fieldSentence(f)
	}
	detail := strings.Join(parts, "; ")
	if len(fields) > 1 {
		detail = fmt.Sprintf("%d values are not acceptable: %s", len(fields), detail)
	}
	return &apiError{status: http.StatusUnprocessableEntity, detail: detail, fields: fields}
}

// fieldSentence joins a field and its message: "fqdn is required",
// "ipv4: \"224.0.0.1\" is multicast".
func fieldSentence(f FieldError) string {
	verb, _, _ := strings.Cut(f.Message, " ")
	switch {
	case f.Field == "":
		return f.Message
	case verb == "is" || verb == "must" || verb == "has" || verb == "does" || verb == "cannot" || verb == "needs":
		return f.Field + " " + f.Message
	}
	return f.Field + ": " + f.Message
}

func fieldError(field, format string, args ...any) FieldError {
	return FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// orNotFound names the missing object when err is store.ErrNotFound.
func orNotFound(err error, what string, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("%s %d does not exist", what, id)
	}
	return err
}

// conflictMessages explain the constraints a write can run into.
var conflictMessages = map[string]string{
	"hosts_fqdn_key":          "a host with this FQDN already exists",
	"records_fqdn_key":        "the host already has a record with this FQDN at this service",
	"services_name_key":       "a service with this name already exists",
	"webhooks_name_key":       "a notification channel or webhook with this name already exists",
	"users_username_key":      "an account with this user name already exists",
	"records_host_id_fkey":    "the host still has records; delete them first",
	"records_service_id_fkey": "the service is still used by records; delete or move them first",
}

// writeProblem is the one place where an error of the API becomes a
// response: client errors say what is wrong, anything unexpected is a 500
// without detail (logged here), and a database that cannot be reached is a
// 503. Messages never carry submitted secrets: they come from the spec's
// validation (which never quotes values), from handlers, or from this table.
func (s *Server) writeProblem(c echo.Context, err error) {
	if c.Response().Committed {
		s.log.Error("API error after the response started", "route", c.Path(), "err", err)
		return
	}
	p := Problem{Type: "about:blank"}
	var (
		ae    *apiError
		un    *auth.UnauthenticatedError
		fb    *auth.ForbiddenError
		ce    *store.ConstraintError
		rl    *ratelimit.Error
		he    *echo.HTTPError
		ute   *json.UnmarshalTypeError
		pe    *pgconn.PgError
		extra = map[string]string{}
	)
	switch {
	case errors.As(err, &ae):
		p.Status, p.Detail = ae.status, ptr(ae.detail)
		if len(ae.fields) > 0 {
			p.Errors = &ae.fields
		}
		if ae.code != "" {
			p.Code = ptr(ae.code)
		}
		if ae.status == http.StatusUnauthorized {
			extra[echo.HeaderWWWAuthenticate] = `Bearer realm="ddnsbroker"`
		}
	case errors.As(err, &un):
		p.Status, p.Detail = http.StatusUnauthorized, ptr(un.Reason)
		extra[echo.HeaderWWWAuthenticate] = `Bearer realm="ddnsbroker"`
	case errors.As(err, &fb):
		p.Status, p.Detail = http.StatusForbidden, ptr(fb.Reason)
	case errors.As(err, &rl):
		p.Status, p.Detail = http.StatusTooManyRequests, ptr("too many failed attempts; try again later")
		extra["Retry-After"] = ratelimit.Header(rl.RetryAfter)
	case errors.Is(err, store.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, ptr("the object does not exist")
	case errors.As(err, &ce) && errors.Is(err, store.ErrConflict):
		msg, ok := conflictMessages[ce.Constraint]
		if !ok {
			msg = "the change conflicts with stored data (" + ce.Constraint + ")"
		}
		p.Status, p.Detail = http.StatusConflict, ptr(msg)
	case errors.Is(err, store.ErrConflict):
		p.Status, p.Detail = http.StatusConflict, ptr("the change conflicts with stored data")
	case errors.As(err, &ce) && errors.Is(err, store.ErrInvalid):
		p.Status, p.Detail = http.StatusUnprocessableEntity, ptr("a value is out of range ("+ce.Constraint+")")
	case errors.Is(err, store.ErrInvalid):
		p.Status, p.Detail = http.StatusUnprocessableEntity, ptr("a value is out of range")
	case errors.As(err, &ute): // a number kin-openapi let through but Go cannot hold
		f := FieldError{Field: ute.Field, Message: "is out of range"}
		p.Status, p.Detail, p.Errors = http.StatusUnprocessableEntity, ptr(fieldSentence(f)), &[]FieldError{f}
	case errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22"): // data exception: a value PostgreSQL cannot take
		p.Status, p.Detail = http.StatusUnprocessableEntity, ptr("a value cannot be stored")
	case errors.As(err, &he):
		p.Status = he.Code
		if m, ok := he.Message.(string); ok && m != "" && m != http.StatusText(he.Code) {
			p.Detail = ptr(m)
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			p.Detail = ptr("the body is larger than the " + maxBody + "B this API takes")
		}
		if he.Code >= 500 {
			s.log.Error("API request failed", "route", c.Path(), "err", err)
		}
	case unavailable(err):
		p.Status, p.Detail = http.StatusServiceUnavailable, ptr("the database is unavailable; try again shortly")
		extra["Retry-After"] = "5"
		s.log.Warn("API request failed: database unavailable", "route", c.Path(), "err", err)
	default:
		p.Status = http.StatusInternalServerError
		s.log.Error("API request failed", "route", c.Path(), "err", err)
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	p.Title = http.StatusText(p.Status)
	if p.Status == http.StatusNotFound && p.Detail == nil {
		p.Detail = ptr("no such API path")
	}
	h := c.Response().Header()
	for k, v := range extra {
		h.Set(k, v)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	body, _ := json.Marshal(p)
	_ = c.Blob(p.Status, problemContentType, body)
}

// unavailable tells errors of an unreachable or overloaded database (and
// of requests that ran out of time waiting for it) from real failures.
func unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		pe *pgconn.PgError
		ne net.Error
	)
	switch {
	case errors.As(err, &ce), pgconn.Timeout(err), errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	case errors.As(err, &pe):
		// Connection exceptions, and the server shutting down or starting.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	case errors.As(err, &ne):
		return true
	}
	return false
}
