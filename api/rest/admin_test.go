package rest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// The in-process API of the admin commands is the API: the spec's and the
// domain's refusals come back as the problem an HTTP client would get, the
// history names the command, and what belongs to logged-in users is refused.
func TestAdminCallsTheAPIAsACommand(t *testing.T) {
	st := storetest.New(t)
	cfg, err := config.ServeDefaults(secretKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(*cfg, app.Options{Store: st, PasswordParams: auth.TestParams})
	if err != nil {
		t.Fatal(err)
	}
	api := a.API.Admin("ddnsbroker apply")
	ctx := context.Background()

	var host rest.HostCreated
	if err := api.Call(ctx, http.MethodPost, "/hosts", map[string]any{"fqdn": "Home.Example.net"}, &host); err != nil {
		t.Fatal(err)
	}
	if host.Fqdn != "home.example.net" || host.Secret == "" {
		t.Errorf("created %+v", host)
	}
	var actor string
	if err := st.Pool.QueryRow(ctx, `SELECT actor FROM events WHERE kind = 'host.created'`).Scan(&actor); err != nil || actor != "command ddnsbroker apply" {
		t.Errorf("the event's actor is %q (%v)", actor, err)
	}

	for _, c := range []struct {
		method, path string
		body         any
		status       int
		want         string
	}{
		{http.MethodPost, "/hosts", map[string]any{"fqdn": "home.example.net"}, 409, "a host with this FQDN already exists"},
		{http.MethodPost, "/hosts", map[string]any{"fqdn": "x.example.net", "ipv4": "224.0.0.1"}, 422, "ipv4"},
		{http.MethodPost, "/hosts", map[string]any{"fqdn": "y.example.net", "colour": "red"}, 422, "colour"},
		{http.MethodPost, "/me/password", map[string]any{"current_password": "a", "new_password": "bbbbbbbbbbbb"}, 403, "a command cannot manage accounts"},
	} {
		err := api.Call(ctx, c.method, c.path, c.body, nil)
		var ce *rest.CallError
		if !errors.As(err, &ce) || ce.Problem.Status != c.status || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s %v: %v, want %d naming %q", c.method, c.path, c.body, err, c.status, c.want)
		}
	}
}
