package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	pgxv5 "github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ddnsbroker/ddnsbroker/db"
)

// Migrator applies the embedded migrations.
type Migrator struct {
	m  *migrate.Migrate
	db *sql.DB
}

// NewMigrator connects golang-migrate to the database at url.
func NewMigrator(url string) (*Migrator, error) {
	src, err := iofs.New(db.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: source: %w", err)
	}
	cfg, err := pgxv5.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("migrate: parse database url: %w", err)
	}
	sqldb := stdlib.OpenDB(*cfg)
	drv, err := pgx.WithInstance(sqldb, &pgx.Config{})
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{m: m, db: sqldb}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error {
	serr, derr := m.m.Close()
	return errors.Join(serr, derr)
}

// Up applies every pending migration.
func (m *Migrator) Up() error {
	for {
		v, err := m.clean()
		switch {
		case err != nil:
			return fmt.Errorf("migrate up: %w", err)
		case v == LatestVersion():
			return nil
		case v > LatestVersion():
			return fmt.Errorf("migrate up: the schema (version %d) is newer than this binary knows (%d): run a newer ddnsbroker", v, LatestVersion())
		}
		if err := m.step(v, 1); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
	}
}

// Down reverts n migrations; n <= 0 reverts all.
func (m *Migrator) Down(n int) error {
	for i := 0; n <= 0 || i < n; i++ {
		v, err := m.clean()
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		if v == 0 {
			return nil
		}
		if err := m.step(v, -1); err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
	}
	return nil
}

// Force records version v as applied and clean without running anything:
// for a database whose migration stopped half-way (the process was killed
// during it). Each migration runs in one transaction, so such a schema is
// as it was before that migration.
func (m *Migrator) Force(v uint) error {
	if v > LatestVersion() {
		return fmt.Errorf("migrate force: version %d is newer than this binary knows (%d)", v, LatestVersion())
	}
	force := int(v)
	if v == 0 {
		force = database.NilVersion
	}
	if err := m.m.Force(force); err != nil {
		return fmt.Errorf("migrate force: %w", err)
	}
	return nil
}

// ErrDirty is a schema whose last migration stopped half-way (the process
// was killed during it); `migrate force` records the version it is at.
var ErrDirty = errors.New("a migration stopped half-way")

// clean returns the applied version, or an error when it is dirty.
func (m *Migrator) clean() (uint, error) {
	v, dirty, err := m.Version()
	if err == nil && dirty {
		err = fmt.Errorf("schema version %d is dirty: %w", v, ErrDirty)
	}
	return v, err
}

// step applies one migration up (1) or down (-1) from version before. Each
// file is sent as one multi-statement query, which PostgreSQL runs as one
// implicit transaction: a file that fails changed nothing. golang-migrate
// marks the version dirty all the same, so step sets it back, and a down
// migration that refuses (because data would be lost, say) leaves the
// schema as it was and usable, not dirty.
func (m *Migrator) step(before uint, n int) error {
	err := m.m.Steps(n)
	if err == nil {
		return nil
	}
	if _, dirty, verr := m.Version(); verr == nil && dirty {
		force := int(before)
		if before == 0 {
			force = database.NilVersion
		}
		if ferr := m.m.Force(force); ferr != nil {
			return errors.Join(err, fmt.Errorf("setting the version back to %d: %w", before, ferr))
		}
	}
	return err
}

// Version reports the applied version (0 when none) and whether a failed migration left it dirty.
func (m *Migrator) Version() (uint, bool, error) {
	v, dirty, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

// LatestVersion is the newest migration embedded in this binary.
func LatestVersion() uint {
	entries, _ := fs.ReadDir(db.Migrations, "migrations")
	var versions []uint
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(n, 10, 32); err == nil {
			versions = append(versions, uint(v))
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	if len(versions) == 0 {
		return 0
	}
	return versions[len(versions)-1]
}

// SchemaVersion reads the applied migration version without golang-migrate,
// cheaply enough for a readiness probe.
func (s *Store) SchemaVersion(ctx context.Context) (uint, bool, error) {
	var v int64
	var dirty bool
	err := s.Pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &dirty)
	if errors.Is(err, pgxv5.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return uint(v), dirty, nil
}
