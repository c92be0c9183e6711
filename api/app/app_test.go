package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func testConfig(t *testing.T) config.Serve {
	t.Helper()
	cfg, err := config.ServeDefaults([]byte("an app test secret key, long enough for hkdf"))
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

// The built application answers on its route table, and Run returns when
// its context ends only after its workers wrote what they buffered: a failed
// router authentication is in the history once Run returned.
func TestBuildServesAndRunFlushesOnStop(t *testing.T) {
	st := storetest.New(t)
	a, err := app.Build(testConfig(t), app.Options{Store: st, Version: "test", PasswordParams: auth.TestParams})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Server.Echo)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Run(ctx) }()

	req, _ := http.NewRequest("GET", ts.URL+"/nic/update?hostname=nobody.example.net&myip=203.0.113.7", nil)
	req.SetBasicAuth("nobody.example.net", "wrong-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.TrimSpace(string(body)) != "badauth" {
		t.Errorf("unknown host answered %q, want badauth", body)
	}
	cancel()
	<-stopped
	var n int
	if err := st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = $1`, store.EventAuthFailed).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d %s events after Run stopped, want 1", n, store.EventAuthFailed)
	}
}

// Build refuses to wire an application without its store.
func TestBuildRequiresAStore(t *testing.T) {
	if _, err := app.Build(testConfig(t), app.Options{}); err == nil {
		t.Error("Build without a store succeeded")
	}
}
