package rest_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// otpCode is the code an authenticator app shows for secret at t.
func otpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loginBody(otp string) map[string]string {
	b := map[string]string{"username": adminName, "password": adminPassword}
	if otp != "" {
		b["otp"] = otp
	}
	return b
}

// enrolOTP turns two-factor sign-in on for the session's account and
// returns the secret and the recovery codes.
func enrolOTP(t *testing.T, h *harness, session string) (string, []string) {
	t.Helper()
	var e rest.OtpEnrolment
	h.do(request{method: "POST", path: "/me/otp", token: session}).expect(t, http.StatusCreated).decode(t, &e)
	if !strings.HasPrefix(e.Uri, "otpauth://totp/") || !strings.Contains(e.Uri, "secret="+e.Secret) ||
		!strings.HasPrefix(e.QrCode, "data:image/png;base64,") {
		t.Fatalf("enrolment %+v", e)
	}
	var rc rest.OtpRecoveryCodes
	h.do(request{method: "POST", path: "/me/otp/confirm", token: session,
		body: map[string]string{"code": otpCode(t, e.Secret, time.Now())}}).expect(t, http.StatusOK).decode(t, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(rc.RecoveryCodes))
	}
	return e.Secret, rc.RecoveryCodes
}

func TestTwoFactorSignIn(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)

	var e rest.OtpEnrolment
	h.do(request{method: "POST", path: "/me/otp", token: session}).expect(t, http.StatusCreated).decode(t, &e)
	// Until a code confirms the secret, sign-in needs none.
	h.login(adminName, adminPassword)
	p := h.do(request{method: "POST", path: "/me/otp/confirm", token: session,
		body: map[string]string{"code": wrongCode(otpCode(t, e.Secret, time.Now()))}}).expect(t, http.StatusUnprocessableEntity).problem(t)
	if fields := fieldsOf(p); len(fields) != 1 || fields[0] != "code" {
		t.Errorf("wrong confirmation code: %+v", p)
	}
	var rc rest.OtpRecoveryCodes
	h.do(request{method: "POST", path: "/me/otp/confirm", token: session,
		body: map[string]string{"code": otpCode(t, e.Secret, time.Now())}}).expect(t, http.StatusOK).decode(t, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes %v", rc.RecoveryCodes)
	}
	// The secret is stored sealed: not in clear in the row.
	var stored []byte
	if err := h.st.Pool.QueryRow(context.Background(), `SELECT otp_secret FROM users WHERE username = $1`, adminName).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), e.Secret) {
		t.Error("the TOTP secret is stored in clear")
	}
	me := get[rest.Me](h, session, "/me")
	if me.OtpEnabled == nil || !*me.OtpEnabled || me.RecoveryCodesLeft == nil || *me.RecoveryCodesLeft != 10 {
		t.Errorf("me %+v", me)
	}
	h.do(request{method: "POST", path: "/me/otp", token: session}).expect(t, http.StatusConflict)

	// Without a code: 401 otp_required, and a WWW-Authenticate.
	r := h.do(request{method: "POST", path: "/auth/login", body: loginBody("")}).expect(t, http.StatusUnauthorized)
	if p := r.problem(t); p.Code == nil || *p.Code != "otp_required" {
		t.Errorf("login without a code: %s", r.body)
	}
	if len(r.cookies) != 0 {
		t.Error("a login without its code set a cookie")
	}
	// A wrong code: 401.
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(wrongCode(otpCode(t, e.Secret, time.Now())))}).
		expect(t, http.StatusUnauthorized)
	// The code of the next step (clocks a little ahead) signs in; the same
	// code again does not: each step's code works once.
	next := otpCode(t, e.Secret, time.Now().Add(30*time.Second))
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(next)}).expect(t, http.StatusOK)
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(next)}).expect(t, http.StatusUnauthorized)
	// A recovery code works once, in any case and with or without dashes.
	code := strings.ToUpper(strings.ReplaceAll(rc.RecoveryCodes[3], "-", ""))
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(code)}).expect(t, http.StatusOK)
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(rc.RecoveryCodes[3])}).expect(t, http.StatusUnauthorized)
	if me := get[rest.Me](h, session, "/me"); me.RecoveryCodesLeft == nil || *me.RecoveryCodesLeft != 9 {
		t.Errorf("recovery codes left %+v", me.RecoveryCodesLeft)
	}

	// Turning it off needs a code or the password.
	h.do(request{method: "DELETE", path: "/me/otp", token: session, body: map[string]string{"password": "wrong password"}}).
		expect(t, http.StatusForbidden)
	h.do(request{method: "DELETE", path: "/me/otp", token: session, body: map[string]string{}}).expect(t, http.StatusUnprocessableEntity)
	h.do(request{method: "DELETE", path: "/me/otp", token: session, body: map[string]string{"code": rc.RecoveryCodes[0]}}).
		expect(t, http.StatusNoContent)
	h.do(request{method: "DELETE", path: "/me/otp", token: session, body: map[string]string{"password": adminPassword}}).
		expect(t, http.StatusConflict)
	h.login(adminName, adminPassword)
}

// Wrong codes are failed logins: they are limited like wrong passwords
// (here 3 per source), after which even the right code waits.
func TestWrongOTPCodesCountTowardTheLoginLimits(t *testing.T) {
	h := newHarness(t, func(_ *config.Serve, opt *app.Options) {
		opt.LoginLimits = rest.LoginLimits{PerAddress: rate.Every(time.Hour), AddressBurst: 3,
			PerPair: rate.Every(time.Hour), PairBurst: 3, PerUser: rate.Every(time.Hour), UserBurst: 100}
	})
	session, _ := h.login(adminName, adminPassword)
	secret, _ := enrolOTP(t, h, session)
	wrong := wrongCode(otpCode(t, secret, time.Now()))
	for range 3 {
		h.do(request{method: "POST", path: "/auth/login", body: loginBody(wrong)}).expect(t, http.StatusUnauthorized)
	}
	h.do(request{method: "POST", path: "/auth/login", body: loginBody(otpCode(t, secret, time.Now().Add(30*time.Second)))}).
		expect(t, http.StatusTooManyRequests)
	if err := h.failures.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	list := get[rest.EventList](h, session, "/events?kind=auth.login_failed")
	n := 0
	for _, e := range list.Items {
		c, _ := e.Data["count"].(float64)
		n += int(c)
	}
	if n < 3 {
		t.Errorf("%d failed logins recorded, want the 3 wrong codes at least: %+v", n, list.Items)
	}
}

// When admins require two-factor sign-in, an account without it may only
// enrol; once it has, everything works again.
func TestRequiredTwoFactorLetsOnlyEnrol(t *testing.T) {
	h := newHarness(t)
	admin, _ := h.login(adminName, adminPassword)
	bobUser := create[rest.User](h, admin, "/users", map[string]string{"username": "bob", "password": "bob-password-1"})
	if err := h.st.SetUserRole(context.Background(), bobUser.Id, "user"); err != nil {
		t.Fatal(err)
	}
	// An admin without two-factor sign-in cannot require it of others.
	p := h.do(request{method: "PUT", path: "/settings/sign-in", token: admin, body: map[string]bool{"require_2fa": true, "password_login": true}}).
		expect(t, http.StatusUnprocessableEntity).problem(t)
	if fields := fieldsOf(p); len(fields) != 1 || fields[0] != "require_2fa" {
		t.Errorf("require_2fa without 2FA of one's own: %+v", p)
	}
	enrolOTP(t, h, admin)
	var set rest.SignInSettings
	h.do(request{method: "PUT", path: "/settings/sign-in", token: admin, body: map[string]bool{"require_2fa": true, "password_login": true}}).
		expect(t, http.StatusOK).decode(t, &set)
	if !set.Require2fa || !set.PasswordLogin || set.Sso {
		t.Errorf("settings %+v", set)
	}
	// Password sign-in cannot be turned off without single sign-on.
	p = h.do(request{method: "PUT", path: "/settings/sign-in", token: admin, body: map[string]bool{"require_2fa": true, "password_login": false}}).
		expect(t, http.StatusUnprocessableEntity).problem(t)
	if fields := fieldsOf(p); len(fields) != 1 || fields[0] != "password_login" {
		t.Errorf("password_login off without SSO: %+v", p)
	}

	bob, _ := h.login("bob", "bob-password-1")
	r := h.do(request{method: "GET", path: "/hosts", token: bob}).expect(t, http.StatusForbidden)
	if p := r.problem(t); p.Code == nil || *p.Code != "otp_enrolment_required" {
		t.Errorf("bob without 2FA: %s", r.body)
	}
	if me := get[rest.Me](h, bob, "/me"); me.OtpEnrolmentRequired == nil || !*me.OtpEnrolmentRequired {
		t.Errorf("me %+v", me)
	}
	var e rest.OtpEnrolment
	h.do(request{method: "POST", path: "/me/otp", token: bob}).expect(t, http.StatusCreated).decode(t, &e)
	h.do(request{method: "POST", path: "/me/otp/confirm", token: bob, body: map[string]string{"code": otpCode(t, e.Secret, time.Now())}}).
		expect(t, http.StatusOK)
	h.do(request{method: "GET", path: "/hosts", token: bob}).expect(t, http.StatusOK)
	// Only admins change the rules.
	h.do(request{method: "PUT", path: "/settings/sign-in", token: bob, body: map[string]bool{"require_2fa": false, "password_login": true}}).
		expect(t, http.StatusForbidden)
}

// wrongCode is a six-digit code other than c.
func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

// A disabled account cannot log in, and its sessions and API tokens stop
// at once; nobody can disable their own.
func TestDisabledAccount(t *testing.T) {
	h := newHarness(t)
	admin, _ := h.login(adminName, adminPassword)
	me := get[rest.Me](h, admin, "/me")
	h.do(request{method: "PATCH", path: "/users/" + strconv.FormatInt(me.Id, 10), token: admin, body: map[string]any{"disabled": true}}).
		expect(t, http.StatusConflict)
	bob := create[rest.User](h, admin, "/users", map[string]string{"username": "bob", "password": "bob-password-1"})
	session, _ := h.login("bob", "bob-password-1")
	token, _ := h.apiToken(session, "script", "read")
	var u rest.User
	h.do(request{method: "PATCH", path: "/users/" + strconv.FormatInt(bob.Id, 10), token: admin, body: map[string]any{"disabled": true}}).
		expect(t, http.StatusOK).decode(t, &u)
	if u.Disabled == nil || !*u.Disabled {
		t.Errorf("user %+v", u)
	}
	h.do(request{method: "GET", path: "/me", token: session}).expect(t, http.StatusUnauthorized)
	h.do(request{method: "GET", path: "/hosts", token: token}).expect(t, http.StatusUnauthorized)
	r := h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": "bob", "password": "bob-password-1"}}).
		expect(t, http.StatusUnauthorized)
	if p := r.problem(t); p.Detail == nil || !strings.Contains(*p.Detail, "disabled") {
		t.Errorf("login of a disabled account: %s", r.body)
	}
	h.do(request{method: "PATCH", path: "/users/" + strconv.FormatInt(bob.Id, 10), token: admin, body: map[string]any{"disabled": false}}).
		expect(t, http.StatusOK)
	h.login("bob", "bob-password-1")
	h.do(request{method: "GET", path: "/hosts", token: token}).expect(t, http.StatusOK)
}
