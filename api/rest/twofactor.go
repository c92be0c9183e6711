package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// otpIssuer labels the broker's entry in authenticator apps.
const otpIssuer = "DDnsBroker"

// The codes of problems a client acts on (the Problem's code).
const (
	codeOTPRequired           = "otp_required"
	codeOTPEnrolmentRequired  = "otp_enrolment_required"
	codePasswordLoginDisabled = "password_login_disabled"
)

var errOTPRequired = &apiError{status: http.StatusUnauthorized, code: codeOTPRequired,
	detail: "this account signs in with a second factor: send the code of its authenticator app (or a recovery code) as otp"}

// enrolmentOperations are what a session may call while admins require
// two-factor sign-in and its account has none: enough to enrol.
var enrolmentOperations = map[string]bool{"getme": true, "logout": true, "enrolotp": true, "confirmotp": true} // lowercase operation ids

// verifyOTP checks a TOTP code (each time step is accepted once) or spends
// a recovery code of an account that has two-factor sign-in on.
func (s *Server) verifyOTP(ctx context.Context, userID int64, code string) (bool, error) {
	if auth.IsRecoveryCode(code) {
		return s.store.UseRecoveryCode(ctx, userID, auth.RecoveryCodeHash(code))
	}
	o, err := s.store.UserOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !o.Enabled {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	secret, err := s.box.Open(o.Sealed, o.KeyID)
	if err != nil {
		return false, fmt.Errorf("otp secret: %w", err)
	}
	step, ok := auth.CheckOTP(secret, code, time.Now())
	if !ok {
		return false, nil
	}
	return s.store.UseOTPStep(ctx, userID, step)
}

// checkSecondFactor verifies a code through the login guard, like a
// password: a wrong one is a failed login, limited per source and
// recorded in the history; *ratelimit.Error when the source failed too often.
func (s *Server) checkSecondFactor(ctx context.Context, u store.User, code string) (bool, error) {
	source := infoFrom(ctx).clientIP
	var verr error
	ok, err := s.logins.guard.Check(ctx, strings.ToLower(u.Username), source, func() bool {
		var ok bool
		ok, verr = s.verifyOTP(ctx, u.ID, code)
		return ok
	})
	f := auth.Failure{Kind: auth.KindLoginFailed, Reason: auth.FailureBadCredentials, Source: s.logins.guard.Group(source),
		Account: u.Username}
	if rl := (*ratelimit.Error)(nil); errors.As(err, &rl) {
		f.Reason = auth.FailureRateLimited
		s.logins.failures.Add(f)
		return false, rl
	} else if err != nil {
		return false, err
	}
	if verr != nil {
		return false, verr
	}
	if !ok {
		s.logins.failures.Add(f)
	}
	return ok, nil
}

// EnrolOtp makes a new TOTP secret for the caller, stored sealed and
// unused until confirmed.
func (s *Server) EnrolOtp(ctx context.Context, _ EnrolOtpRequestObject) (EnrolOtpResponseObject, error) {
	p := principal(ctx)
	e, err := auth.NewOTP(otpIssuer, p.Username)
	if err != nil {
		return nil, err
	}
	sealed, keyID := s.box.Seal(e.Secret)
	if err := s.store.SetPendingOTP(ctx, p.UserID, sealed, keyID); errors.Is(err, store.ErrConflict) {
		return nil, conflict("two-factor sign-in is already on; turn it off first (DELETE /me/otp) to enrol another app")
	} else if err != nil {
		return nil, err
	}
	return EnrolOtp201JSONResponse{Secret: e.Secret, Uri: e.URI, QrCode: e.QRCode}, nil
}

// ConfirmOtp turns two-factor sign-in on once a code shows the app holds
// the secret, and hands out the recovery codes.
func (s *Server) ConfirmOtp(ctx context.Context, req ConfirmOtpRequestObject) (ConfirmOtpResponseObject, error) {
	p := principal(ctx)
	o, err := s.store.UserOTP(ctx, p.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && o.Enabled {
		return nil, conflict("there is no new secret to confirm: enrol first (POST /me/otp)")
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.box.Open(o.Sealed, o.KeyID)
	if err != nil {
		return nil, fmt.Errorf("otp secret: %w", err)
	}
	step, ok := auth.CheckOTP(secret, req.Body.Code, time.Now())
	if !ok {
		return nil, invalid(fieldError("code", "is not the current code of the new secret: check the app's clock and try the next code"))
	}
	codes, hashes := auth.NewRecoveryCodes()
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		if _, err := q.UseOTPStep(ctx, p.UserID, step); err != nil {
			return err
		}
		if err := q.EnableOTP(ctx, p.UserID, hashes); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserUpdated,
			Message: fmt.Sprintf("%s turned two-factor sign-in on", p.Username)},
			map[string]any{"user_id": p.UserID, "fields": []string{"otp"}})
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("two-factor sign-in is already on")
	}
	if err != nil {
		return nil, err
	}
	return ConfirmOtp200JSONResponse{RecoveryCodes: codes}, nil
}

// DisableOtp turns two-factor sign-in off, given a code or the password.
func (s *Server) DisableOtp(ctx context.Context, req DisableOtpRequestObject) (DisableOtpResponseObject, error) {
	p := principal(ctx)
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	b := req.Body
	switch {
	case b.Code != nil:
		if !u.OTPEnabled {
			return nil, conflict("two-factor sign-in is not on")
		}
		ok, err := s.checkSecondFactor(ctx, u, *b.Code)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &auth.ForbiddenError{Reason: "the code is wrong"}
		}
	case b.Password != nil:
		if err := s.confirmPassword(ctx, *b.Password); err != nil {
			return nil, err
		}
	default:
		return nil, invalid(fieldError("code", "is required (or password)"))
	}
	if !u.OTPEnabled {
		return nil, conflict("two-factor sign-in is not on")
	}
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		if err := q.DisableOTP(ctx, u.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserUpdated,
			Message: fmt.Sprintf("%s turned two-factor sign-in off", u.Username)},
			map[string]any{"user_id": u.ID, "fields": []string{"otp"}})
	})
	if err != nil {
		return nil, err
	}
	return DisableOtp204Response{}, nil
}

// GetSignInSettings reads the sign-in rules.
func (s *Server) GetSignInSettings(ctx context.Context, _ GetSignInSettingsRequestObject) (GetSignInSettingsResponseObject, error) {
	if err := requireAdmin(ctx, "manages the sign-in rules"); err != nil {
		return nil, err
	}
	set, err := s.store.SignInSettings(ctx)
	if err != nil {
		return nil, err
	}
	return GetSignInSettings200JSONResponse{Require2fa: set.Require2FA, PasswordLogin: set.PasswordLogin, Sso: s.sso != nil}, nil
}

// SetSignInSettings replaces the sign-in rules; admins only.
func (s *Server) SetSignInSettings(ctx context.Context, req SetSignInSettingsRequestObject) (SetSignInSettingsResponseObject, error) {
	if err := requireAdmin(ctx, "manages the sign-in rules"); err != nil {
		return nil, err
	}
	p := principal(ctx)
	b := req.Body
	if !b.PasswordLogin && s.sso == nil {
		return nil, invalid(fieldError("password_login", "cannot be turned off: single sign-on is not configured (DDNSBROKER_OIDC_ISSUER), nobody could sign in"))
	}
	if b.Require2fa {
		u, err := s.store.User(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if !u.OTPEnabled && !u.SSO {
			return nil, invalid(fieldError("require_2fa", "needs two-factor sign-in on your own account first (POST /me/otp)"))
		}
	}
	var set store.SignInSettings
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		var err error
		if set, err = q.SetSignInSettings(ctx, store.SignInSettings{Require2FA: b.Require2fa, PasswordLogin: b.PasswordLogin}); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserUpdated,
			Message: fmt.Sprintf("sign-in rules set: two-factor for everyone %s, password sign-in %s", onOff(set.Require2FA), onOff(set.PasswordLogin))},
			map[string]any{"require_2fa": set.Require2FA, "password_login": set.PasswordLogin})
	})
	if err != nil {
		return nil, err
	}
	return SetSignInSettings200JSONResponse{Require2fa: set.Require2FA, PasswordLogin: set.PasswordLogin, Sso: s.sso != nil}, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
