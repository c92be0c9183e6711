package rest

import (
	"context"
	"fmt"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func toUser(u store.User) User {
	return User{Id: u.ID, Username: u.Username, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
		LastLoginAt: utcPtr(u.LastLoginAt), Disabled: ptr(u.Disabled), OtpEnabled: ptr(u.OTPEnabled), Sso: ptr(u.SSO),
		Role: Role(u.Role), Limits: UserLimits{MaxHosts: u.MaxHosts, MaxRecords: u.MaxRecords}}
}

// userAccess is the store's form of a role and limits given (nil: none).
func userAccess(role *Role, limits *UserLimits) (store.UserAccess, bool) {
	var a store.UserAccess
	if role != nil {
		a.Role = string(*role)
	}
	if limits != nil {
		a.MaxHosts, a.MaxRecords = ptr(deref(limits.MaxHosts, -1)), ptr(deref(limits.MaxRecords, -1))
	}
	return a, role != nil || limits != nil
}

// ListUsers lists admin accounts.
func (s *Server) ListUsers(ctx context.Context, req ListUsersRequestObject) (ListUsersResponseObject, error) {
	var after int64
	if err := decodeCursor(req.Params.Cursor, &after); err != nil {
		return nil, err
	}
	limit := pageLimit(req.Params.Limit)
	rows, err := s.db(ctx).UsersPage(ctx, after, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(u store.User) []any { return []any{u.ID} })
	return ListUsers200JSONResponse{Items: mapSlice(rows, toUser), NextCursor: next}, nil
}

// CreateUser adds an admin account.
func (s *Server) CreateUser(ctx context.Context, req CreateUserRequestObject) (CreateUserResponseObject, error) {
	if err := requireAdmin(ctx, "manages accounts"); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(s.params, req.Body.Password)
	if err != nil {
		return nil, err
	}
	var u store.User
	err = s.tx(ctx, func(q *store.Queries) error {
		// A new account is a user unless made an admin.
		if u, err = q.CreateAccount(ctx, req.Body.Username, hash, string(deref(req.Body.Role, RoleUser))); err != nil {
			return err
		}
		if a, given := userAccess(nil, req.Body.Limits); given {
			if err := q.SetUserAccess(ctx, u.ID, a); err != nil {
				return err
			}
			if u, err = q.User(ctx, u.ID); err != nil {
				return err
			}
		}
		return event(ctx, q, store.Event{Kind: store.EventUserCreated, Message: fmt.Sprintf("account %s created", u.Username)},
			map[string]any{"user_id": u.ID})
	})
	if err != nil {
		return nil, err
	}
	return CreateUser201JSONResponse(toUser(u)), nil
}

// GetUser reads an admin account.
func (s *Server) GetUser(ctx context.Context, req GetUserRequestObject) (GetUserResponseObject, error) {
	u, err := s.db(ctx).User(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "user", req.Id)
	}
	return GetUser200JSONResponse(toUser(u)), nil
}

// UpdateUser renames an account or sets its password; a new password ends
// every session of the account at once.
func (s *Server) UpdateUser(ctx context.Context, req UpdateUserRequestObject) (UpdateUserResponseObject, error) {
	b := req.Body
	if err := requireAdmin(ctx, "manages accounts"); err != nil {
		return nil, err
	}
	if b.Disabled != nil && *b.Disabled && req.Id == principal(ctx).UserID {
		return nil, conflict("you cannot disable your own account; ask another admin")
	}
	var hash string
	if b.Password != nil {
		var err error
		if hash, err = auth.HashPassword(s.params, *b.Password); err != nil {
			return nil, err
		}
	}
	var u store.User
	err := s.tx(ctx, func(q *store.Queries) error {
		old, err := q.User(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "user", req.Id)
		}
		var changed []string
		if b.Username != nil && *b.Username != old.Username {
			if err := q.RenameUser(ctx, old.ID, *b.Username); err != nil {
				return err
			}
			changed = append(changed, "username")
		}
		if a, given := userAccess(b.Role, b.Limits); given {
			if a.Role == store.RoleUser && old.Role == store.RoleAdmin {
				n, err := q.CountAdmins(ctx)
				if err != nil {
					return err
				}
				if n <= 1 {
					return conflict("%s is the last admin; make another account an admin first", old.Username)
				}
			}
			if err := q.SetUserAccess(ctx, old.ID, a); err != nil {
				return err
			}
			if b.Role != nil && a.Role != old.Role {
				changed = append(changed, "role")
			}
			if b.Limits != nil {
				changed = append(changed, "limits")
			}
		}
		if hash != "" {
			// Every session of the account ends, the caller's too when it is
			// their own: whoever holds one may be who the reset locks out.
			if err := q.SetUserPassword(ctx, old.ID, hash, ""); err != nil {
				return err
			}
			changed = append(changed, "password")
		}
		if b.Disabled != nil && *b.Disabled != old.Disabled {
			// Disabling ends every session of the account at once.
			if err := q.SetUserDisabled(ctx, old.ID, *b.Disabled); err != nil {
				return err
			}
			changed = append(changed, "disabled")
		}
		if u, err = q.User(ctx, old.ID); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		return event(ctx, q, store.Event{Kind: store.EventUserUpdated, Message: fmt.Sprintf("account %s changed", u.Username)},
			map[string]any{"user_id": u.ID, "fields": changed})
	})
	if err != nil {
		return nil, err
	}
	return UpdateUser200JSONResponse(toUser(u)), nil
}

// DeleteUser removes an account with its tokens; nobody can delete their own.
func (s *Server) DeleteUser(ctx context.Context, req DeleteUserRequestObject) (DeleteUserResponseObject, error) {
	if err := requireAdmin(ctx, "manages accounts"); err != nil {
		return nil, err
	}
	if req.Id == principal(ctx).UserID {
		return nil, conflict("you cannot delete your own account; log in as another admin to do it")
	}
	err := s.tx(ctx, func(q *store.Queries) error {
		u, err := q.User(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "user", req.Id)
		}
		if err := q.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserDeleted, Message: fmt.Sprintf("account %s deleted", u.Username)},
			map[string]any{"user_id": u.ID})
	})
	if err != nil {
		return nil, err
	}
	return DeleteUser204Response{}, nil
}
