package dyndns2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// unreachableBackend is a database that stopped answering: it reports the
// deadline it was given and fails as the call would when that ran out.
type unreachableBackend struct{ left []time.Duration }

func (b *unreachableBackend) fail(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		b.left = append(b.left, -1)
	} else {
		b.left = append(b.left, time.Until(d))
	}
	return errors.New("timeout: context deadline exceeded")
}

func (b *unreachableBackend) Authenticate(ctx context.Context, _, _ string, _ netip.Addr) (Host, error) {
	return Host{}, b.fail(ctx)
}

func (b *unreachableBackend) Apply(ctx context.Context, _ Host, _ Update) (Result, error) {
	return Result{}, b.fail(ctx)
}

// An update gives the backend at most backendTimeout, well inside the 5 s
// routers and monitors wait, and answers 911 when the backend fails: a
// database that hangs turns into 911, not a hung request (the faults test
// TestFaultDatabaseOutage/frozen shows it end to end).
func TestUpdateBoundsTheBackend(t *testing.T) {
	if backendTimeout >= 5*time.Second {
		t.Fatalf("backendTimeout %s leaves no room under 5 s", backendTimeout)
	}
	b := &unreachableBackend{}
	e := echo.New()
	mount(e, NewHandler(b, nil, nil, nil))
	r := httptest.NewRequest(http.MethodGet, "/nic/update?myip=192.0.2.1", nil)
	r.SetBasicAuth(hostFQDN, hostSecret)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	if w.Code != http.StatusServiceUnavailable || string(body) != "911\n" {
		t.Fatalf("answer %d %q, want 503 911", w.Code, body)
	}
	if len(b.left) != 1 || b.left[0] <= backendTimeout-time.Second || b.left[0] > backendTimeout {
		t.Fatalf("time left for the backend: %v, want about %s", b.left, backendTimeout)
	}
}
