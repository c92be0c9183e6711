package rest

import (
	"context"
	"errors"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Ownership: what a caller sees is decided in the store (s.db and s.tx
// filter every read by owner in its SQL); these are the rules of changes
// that the filter alone does not express: who owns a new object, who may
// give one away, and the per-account limits.

// ownerOf is the owner of a new object: the caller, or the account an
// admin names in field.
func ownerOf(ctx context.Context, q *store.Queries, given *int64, field string) (int64, error) {
	p := principal(ctx)
	if given == nil || *given == p.UserID {
		return p.UserID, nil
	}
	if !p.Admin() {
		return 0, invalid(fieldError(field, "only an admin can give an object to another account"))
	}
	if _, err := q.User(ctx, *given); errors.Is(err, store.ErrNotFound) {
		return 0, invalid(fieldError(field, "account %d does not exist", *given))
	} else if err != nil {
		return 0, err
	}
	return *given, nil
}

// reassign checks an admin's change of owner (nil: none).
func reassign(ctx context.Context, q *store.Queries, given *int64) error {
	if given == nil {
		return nil
	}
	_, err := ownerOf(ctx, q, given, "owner_id")
	return err
}

// adminsOnly refuses a field only an admin may set.
func adminsOnly(ctx context.Context, field string, given bool) error {
	if given && !principal(ctx).Admin() {
		return invalid(fieldError(field, "only an admin can set this"))
	}
	return nil
}

// requireAdmin refuses an operation only an admin may call (managing
// accounts, the broker's own settings), whatever its object: 403 says
// nothing about which exist. what completes "only an admin …".
func requireAdmin(ctx context.Context, what string) error {
	if !principal(ctx).Admin() {
		return &auth.ForbiddenError{Reason: "only an admin " + what}
	}
	return nil
}

// notHostScoped refuses creating what a host-scoped token cannot reach.
func notHostScoped(ctx context.Context, what string) error {
	if principal(ctx).HostIDs != nil {
		return &auth.ForbiddenError{Reason: "this API token is limited to some hosts; it cannot create " + what}
	}
	return nil
}

// admitOwned refuses, with 409, a host or record more than the owner's
// limit allows. It locks the owner's account until the transaction ends,
// so additions at once cannot pass the limit together.
func admitOwned(ctx context.Context, q *store.Queries, owner *int64, hosts, records int) error {
	if owner == nil {
		return nil
	}
	l, err := q.LockOwnerLimits(ctx, *owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the owner was deleted meanwhile; the object goes to the admins
	}
	if err != nil {
		return err
	}
	if hosts > 0 && l.MaxHosts != nil && l.Hosts+hosts > *l.MaxHosts {
		return conflict("the account owns %d %s, its limit is %d", l.Hosts, plural(l.Hosts, "host", "hosts"), *l.MaxHosts)
	}
	if records > 0 && l.MaxRecords != nil && l.Records+records > *l.MaxRecords {
		return conflict("the account owns %d %s, its limit is %d", l.Records, plural(l.Records, "record", "records"), *l.MaxRecords)
	}
	return nil
}

// ownerName is how an owner is shown: the username, or "" for none.
func ownerName(id *int64, name string) string {
	if id == nil {
		return ""
	}
	return name
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// ownService reads a service the caller may change: 404 when they cannot
// see it, 403 when they may only publish through it (shared).
func ownService(ctx context.Context, q *store.Queries, id int64) (store.Service, error) {
	svc, err := q.OwnService(ctx, id)
	if !errors.Is(err, store.ErrNotFound) {
		return svc, err
	}
	if _, err := q.Service(ctx, id); err == nil {
		return svc, &auth.ForbiddenError{Reason: "this service is shared with you: only its owner or an admin can change it"}
	} else if !errors.Is(err, store.ErrNotFound) {
		return svc, err
	}
	return svc, orNotFound(err, "service", id)
}
