// Package store is DDnsBroker's PostgreSQL access: every SQL statement lives
// here, one file per table, usable with the pool or inside a transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid value")
)

// errNoRows marks an UPDATE or DELETE that matched nothing.
var errNoRows = pgx.ErrNoRows

// ConstraintError says which constraint refused a write. It unwraps to
// ErrConflict (unique, foreign key) or ErrInvalid (check, not null).
type ConstraintError struct {
	Kind       error
	Constraint string
	Detail     string
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("%v: %s", e.Kind, e.Constraint)
}

func (e *ConstraintError) Unwrap() error { return e.Kind }

// mapErr turns pgx errors into the package's sentinels, keeping the cause.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		var kind error
		switch pe.Code {
		case "23505", "23503", "23P01": // unique, foreign key, exclusion
			kind = ErrConflict
		case "23514", "23502", "22P02", "22003", "22001": // check, not null, bad text repr, out of range, too long
			kind = ErrInvalid
		}
		if kind != nil {
			name := pe.ConstraintName
			if name == "" {
				name = pe.ColumnName
			}
			return fmt.Errorf("%s: %w", op, &ConstraintError{Kind: kind, Constraint: name, Detail: pe.Detail})
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// DBTX is what both the pool and a transaction offer.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Queries runs the package's statements on a pool or a transaction.
type Queries struct {
	db DBTX
	// access narrows what the queries see (nil: everything, for the
	// broker, the dispatcher and the commands); see As.
	access *Access
	// actor signs the events the queries write.
	actor Actor
}

// Store owns the pool.
type Store struct {
	Queries
	Pool *pgxpool.Pool
	// begin starts InTx's transactions: nil for the pool; the outer
	// transaction of a store from Within, where they are savepoints.
	begin interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	}
}

// Open connects a pool; it does not wait for the database to be reachable,
// so a server can start while PostgreSQL is still coming up.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	cfg.MaxConns = max(cfg.MaxConns, 20)
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5e9 {
		cfg.ConnConfig.ConnectTimeout = 5e9
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ddnsbroker"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{Queries: Queries{db: pool}, Pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(q *Queries) error) error {
	if s.begin != nil {
		return pgx.BeginFunc(ctx, s.begin, func(tx pgx.Tx) error { return fn(&Queries{db: tx}) })
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(&Queries{db: tx})
	})
}

// Within runs fn with a store whose every statement is part of one
// transaction, its InTx calls nested in it as savepoints: committed when fn
// returns nil, rolled back otherwise. Code written for the pool (the API's
// handlers) thereby makes many changes as one, all or none: ddnsbroker
// apply. The store must not be used after fn returns, nor by two
// goroutines at once.
func (s *Store) Within(ctx context.Context, fn func(st *Store) error) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(&Store{Queries: Queries{db: tx}, Pool: s.Pool, begin: tx})
	})
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Pool.Ping(ctx)
}

func itoa(n int) string { return strconv.Itoa(n) }

// planEachCall runs a statement as an unnamed prepared statement, which
// PostgreSQL plans for the values of each call instead of reusing a generic
// plan: for claims over queues whose size changes by orders of magnitude,
// and searches whose best plan depends on the pattern.
const planEachCall = pgx.QueryExecModeCacheDescribe

// rowScanner is one row: a pgx.Row, or the current row of pgx.Rows.
type rowScanner = interface{ Scan(dest ...any) error }

// collect reads every row of a query with scan (nil when there is none); op
// names the query in its errors, the query's own err included.
func collect[T any](op string, rows pgx.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, mapErr(op, err)
	}
	out, err := pgx.AppendRows([]T(nil), rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	return out, mapErr(op, err)
}
