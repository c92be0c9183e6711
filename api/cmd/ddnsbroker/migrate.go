package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func runMigrate(_ context.Context, env *environ, args []string) error {
	set := config.NewSet("migrate up | down [N] | status",
		"Apply (up) or revert (down: N steps, or all) the database migrations embedded in this binary,\nor show the applied version (status).",
		env.getenv, config.DatabaseURL)
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	rest := set.Args()
	if len(rest) == 0 || len(rest) > 2 || (rest[0] != "down" && len(rest) > 1) {
		set.Usage(env.stderr)
		return errUsage
	}
	url, err := set.Database()
	if err != nil {
		return err
	}
	m, err := store.NewMigrator(url)
	if err != nil {
		return err
	}
	defer m.Close()
	switch rest[0] {
	case "up":
		if err := m.Up(); err != nil {
			return err
		}
	case "down":
		n := 0
		if len(rest) == 2 {
			if n, err = strconv.Atoi(rest[1]); err != nil || n < 1 {
				return fmt.Errorf("the number of steps must be a positive whole number, got %q", rest[1])
			}
		}
		if err := m.Down(n); err != nil {
			return err
		}
	case "status":
	default:
		set.Usage(env.stderr)
		return errUsage
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	state := "clean"
	if dirty {
		state = "dirty: a migration failed half-way; fix the database, then run migrate up"
	}
	fmt.Fprintf(env.stdout, "schema version %d of %d (%s)\n", v, store.LatestVersion(), state)
	return nil
}
