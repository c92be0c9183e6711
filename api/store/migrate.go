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
	if err := m.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// Down reverts n migrations; n <= 0 reverts all.
func (m *Migrator) Down(n int) error {
	var err error
	if n <= 0 {
		err = m.m.Down()
	} else {
		err = m.m.Steps(-n)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
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
