// Package sso signs users in through an OpenID Connect identity provider:
// the authorization-code flow with PKCE, state and nonce. It knows the
// provider's side only; the API (api/rest) keeps the flow's state in the
// browser, creates the account and starts the session.
package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is what DDNSBROKER_OIDC_* configure.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string
	// AdminGroup: an identity whose groups claim names it is an admin;
	// others are users ("": everybody signing in is a user).
	AdminGroup string
	// Name is what the sign-in button says after "Sign in with".
	Name string
	// HTTP reaches the provider (nil: http.DefaultClient).
	HTTP *http.Client
}

// Provider is one identity provider. Its discovery document is read on the
// first sign-in (and again after a failure), so that the broker starts while
// the provider is down.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	provider *oidc.Provider
}

// New builds the provider; nothing is fetched yet.
func New(cfg Config) *Provider {
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	return &Provider{cfg: cfg}
}

// Name is what the sign-in button names.
func (p *Provider) Name() string { return p.cfg.Name }

// MapsRoles tells whether the admin group decides roles.
func (p *Provider) MapsRoles() bool { return p.cfg.AdminGroup != "" }

// Issuer is the configured issuer URL, which accounts are bound to.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, p.cfg.HTTP), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sso: discovery: %w", err)
	}
	p.provider = prov
	return prov, nil
}

func (p *Provider) oauth(prov *oidc.Provider, redirectURL string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID, "profile", "email"}
	if p.cfg.AdminGroup != "" {
		scopes = append(scopes, "groups")
	}
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: redirectURL, Scopes: scopes}
}

// Pending is a sign-in on its way through the provider: what the browser
// must bring back to the callback, kept by the caller where only that
// browser can present it.
type Pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

// Begin starts a sign-in: the provider's authorization URL to send the
// browser to, and what Finish needs.
func (p *Provider) Begin(ctx context.Context, redirectURL string) (string, Pending, error) {
	prov, err := p.discover(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	pend := Pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	url := p.oauth(prov, redirectURL).AuthCodeURL(pend.State, oidc.Nonce(pend.Nonce), oauth2.S256ChallengeOption(pend.Verifier))
	return url, pend, nil
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer, Subject string
	// Username is the preferred_username claim, else the email address,
	// else the subject.
	Username string
	Admin    bool
}

// The ways a callback is refused that are the browser's doing, not the
// provider's.
var (
	ErrState = errors.New("sso: the state does not match the sign-in this browser started")
	ErrNonce = errors.New("sso: the ID token's nonce does not match the sign-in this browser started")
)

// Finish completes a sign-in: state is what came back to the callback,
// code the authorization code. It trades the code (with the PKCE verifier)
// for tokens and verifies the ID token: signature, issuer, audience,
// expiry and nonce.
func (p *Provider) Finish(ctx context.Context, redirectURL string, pend Pending, state, code string) (Identity, error) {
	if pend.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(pend.State)) != 1 {
		return Identity{}, ErrState
	}
	prov, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, p.cfg.HTTP)
	tok, err := p.oauth(prov, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("sso: code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("sso: the provider returned no ID token")
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("sso: ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pend.Nonce)) != 1 {
		return Identity{}, ErrNonce
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		Groups            any    `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("sso: ID token claims: %w", err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject, Username: claims.PreferredUsername}
	if id.Username == "" {
		id.Username = claims.Email
	}
	if id.Username == "" {
		id.Username = idt.Subject
	}
	id.Admin = p.cfg.AdminGroup != "" && slices.Contains(groups(claims.Groups), p.cfg.AdminGroup)
	return id, nil
}

// groups reads the groups claim: a list of names, or one name.
func groups(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		var out []string
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
