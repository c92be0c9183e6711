package rest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func toToken(t store.APIToken) ApiToken {
	out := ApiToken{Id: t.ID, UserId: t.UserID, Username: t.Username, Name: t.Name, Scope: TokenScope(t.Scope),
		Prefix: t.Prefix, ExpiresAt: utcPtr(t.ExpiresAt), LastUsedAt: utcPtr(t.LastUsedAt), CreatedAt: t.CreatedAt.UTC()}
	if t.HostIDs != nil {
		out.HostIds = &t.HostIDs
	}
	return out
}

// tokenHosts checks the hosts a token is to be limited to: each one the
// caller's own (what they can see), named once.
func tokenHosts(ctx context.Context, q *store.Queries, ids *[]int64) ([]int64, error) {
	if ids == nil {
		return nil, nil
	}
	out := make([]int64, 0, len(*ids))
	for _, id := range *ids {
		if slices.Contains(out, id) {
			continue
		}
		if _, err := q.Host(ctx, id); errors.Is(err, store.ErrNotFound) {
			return nil, invalid(fieldError("host_ids", "host %d does not exist", id))
		} else if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// ListTokens lists every account's API tokens, never their values.
func (s *Server) ListTokens(ctx context.Context, req ListTokensRequestObject) (ListTokensResponseObject, error) {
	var after int64
	if err := decodeCursor(req.Params.Cursor, &after); err != nil {
		return nil, err
	}
	limit := pageLimit(req.Params.Limit)
	rows, err := s.db(ctx).APITokensPage(ctx, after, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(t store.APIToken) []any { return []any{t.ID} })
	return ListTokens200JSONResponse{Items: mapSlice(rows, toToken), NextCursor: next}, nil
}

// CreateToken makes an API token for the logged-in user, if the session
// gave its password within ReauthWindow or gives it now. The token is in
// this response only; the database keeps its SHA-256.
func (s *Server) CreateToken(ctx context.Context, req CreateTokenRequestObject) (CreateTokenResponseObject, error) {
	b := req.Body
	if b.ExpiresAt != nil && !b.ExpiresAt.After(time.Now()) {
		return nil, invalid(fieldError("expires_at", "must be in the future"))
	}
	// A token outlives the session: one that may be stolen (an access
	// token is enough to call this) must not be able to make one without
	// the password.
	switch p := principal(ctx); {
	case b.CurrentPassword != nil:
		if err := s.confirmPassword(ctx, *b.CurrentPassword); err != nil {
			return nil, err
		}
	case time.Since(p.AuthenticatedAt) > ReauthWindow:
		return nil, invalid(fieldError("current_password",
			"is required: this session gave its password more than %d minutes ago; give it again to create a token", int(ReauthWindow.Minutes())))
	}
	token, prefix := auth.NewAPIToken()
	var t store.APIToken
	err := s.tx(ctx, func(q *store.Queries) error {
		hosts, err := tokenHosts(ctx, q.As(store.Access{Owner: principal(ctx).UserID}, store.Actor{}), b.HostIds)
		if err != nil {
			return err
		}
		t, err = q.CreateAPIToken(ctx, store.NewAPIToken{UserID: principal(ctx).UserID, Name: b.Name, Scope: string(b.Scope),
			Prefix: prefix, Hash: auth.TokenHash(token), ExpiresAt: b.ExpiresAt, HostIDs: hosts})
		if err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: &t.UserID, Kind: store.EventTokenCreated,
			Message: fmt.Sprintf("API token %s (%s) created for %s", t.Name, t.Scope, t.Username)}, map[string]any{"token_id": t.ID})
	})
	if err != nil {
		return nil, err
	}
	var out ApiTokenCreated
	if err := convert(toToken(t), &out); err != nil {
		return nil, err
	}
	out.Token = token
	return CreateToken201JSONResponse(out), nil
}

// GetToken reads a token's metadata.
func (s *Server) GetToken(ctx context.Context, req GetTokenRequestObject) (GetTokenResponseObject, error) {
	t, err := s.db(ctx).APIToken(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "token", req.Id)
	}
	return GetToken200JSONResponse(toToken(t)), nil
}

// DeleteToken revokes a token; it stops working with the next request.
func (s *Server) DeleteToken(ctx context.Context, req DeleteTokenRequestObject) (DeleteTokenResponseObject, error) {
	err := s.tx(ctx, func(q *store.Queries) error {
		t, err := q.APIToken(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "token", req.Id)
		}
		if err := q.DeleteAPIToken(ctx, t.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: &t.UserID, Kind: store.EventTokenDeleted,
			Message: fmt.Sprintf("API token %s of %s revoked", t.Name, t.Username)}, map[string]any{"token_id": t.ID})
	})
	if err != nil {
		return nil, err
	}
	return DeleteToken204Response{}, nil
}
