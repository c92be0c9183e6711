package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Admin calls the API in process for the admin commands that change the
// configuration (ddnsbroker apply): each call passes the same spec
// validation, domain rules, events and broker hooks as a request over
// HTTP, made by the command instead of a logged-in user, so that a
// command can never store what the API would refuse.
type Admin struct {
	handler http.Handler
}

// Admin returns the in-process API for command (the actor of its events:
// "command ddnsbroker apply").
func (s *Server) Admin(command string) *Admin {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	p := auth.Principal{Username: command, Method: auth.MethodCommand, Scope: auth.ScopeWrite, Role: store.RoleAdmin}
	s.register(e, func(need auth.Scope) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if !p.Allows(need) { // accounts and tokens belong to logged-in users
					return &auth.ForbiddenError{Reason: "a command cannot manage accounts or tokens"}
				}
				c.SetRequest(c.Request().WithContext(auth.WithPrincipal(c.Request().Context(), p)))
				return next(c)
			}
		}
	})
	return &Admin{handler: e}
}

// CallError is an answer other than 2xx: the API's problem.
type CallError struct {
	Method, Path string
	Problem      Problem
}

func (e *CallError) Error() string {
	msg := e.Problem.Title
	if e.Problem.Detail != nil {
		msg = *e.Problem.Detail
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Problem.Status, msg)
}

// Call sends one request to path (under BasePath) with body as JSON (nil:
// none) and decodes a 2xx answer into out (nil: dropped); any other answer
// is a *CallError.
func (a *Admin) Call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("admin call: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(ctx, method, BasePath+path, r)
	req.RemoteAddr = "127.0.0.1:0"
	if body != nil {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code < 200 || rec.Code > 299 {
		ce := &CallError{Method: method, Path: path, Problem: Problem{Status: rec.Code, Title: http.StatusText(rec.Code)}}
		_ = json.Unmarshal(rec.Body.Bytes(), &ce.Problem) // a problem+json body when there is one
		return ce
	}
	if out == nil || rec.Code == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		return fmt.Errorf("admin call %s %s: %w", method, path, err)
	}
	return nil
}

// StoredSettings are the settings a service created or updated with
// settings ends up with: what `apply` compares the stored ones with, so
// that a file that leaves out a default does not change the service each
// time it is applied.
func StoredSettings(protocol string, settings map[string]any) map[string]any {
	s := ServiceSettings(settings)
	out, _ := newSettingsChange(&s, nil, nil, nil, nil).apply(protocol, nil)
	return out
}
