// Package db holds the SQL migrations, embedded so the binary migrates itself.
package db

import "embed"

// Migrations are golang-migrate files named NNNNNN_name.{up,down}.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS
