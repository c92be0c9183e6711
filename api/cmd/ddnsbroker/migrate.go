package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func runMigrate(_ context.Context, env *environ, args []string) error {
	set := config.NewSet("migrate up | down [N] | status | force VERSION",
		"Apply (up) or revert (down: N steps, or all) the database migrations embedded in this binary,\n"+
			"or show the applied version (status). A migration that fails changes nothing and the version\n"+
			"stays where it was. Only when a migration was interrupted (the process killed during it) is the\n"+
			"version left \"dirty\"; each migration runs in one transaction, so the schema is then as it was\n"+
			"before: force VERSION records that version (the one before the interrupted migration up, or\n"+
			"the one it came from going down) as applied, without running anything.",
		env.getenv, config.DatabaseURL)
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	rest := set.Args()
	if len(rest) == 0 || len(rest) > 2 || (rest[0] != "down" && rest[0] != "force" && len(rest) > 1) || (rest[0] == "force" && len(rest) != 2) {
		set.Usage(env.stderr)
		return errUsage
	}
	url, err := database(set, env)
	if err != nil {
		return err
	}
	m, err := store.NewMigrator(url)
	if err != nil {
		return databaseError(err)
	}
	defer m.Close()
	switch rest[0] {
	case "up":
		if err := m.Up(); err != nil {
			return dirtyHint(env, err)
		}
	case "down":
		n := 0
		if len(rest) == 2 {
			if n, err = strconv.Atoi(rest[1]); err != nil || n < 1 {
				return fmt.Errorf("the number of steps must be a positive whole number, got %q", rest[1])
			}
		}
		if err := m.Down(n); err != nil {
			return dirtyHint(env, err)
		}
	case "force":
		v, err := strconv.ParseUint(rest[1], 10, 32)
		if err != nil {
			return fmt.Errorf("the version must be a whole number, got %q", rest[1])
		}
		if err := m.Force(uint(v)); err != nil {
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
		state = "dirty: a migration was interrupted; see " + env.command("migrate", "--help")
	}
	fmt.Fprintf(env.stdout, "schema version %d of %d (%s)\n", v, store.LatestVersion(), state)
	return nil
}

// dirtyHint adds to a dirty schema's error where to read what to do.
func dirtyHint(env *environ, err error) error {
	if errors.Is(err, store.ErrDirty) {
		return fmt.Errorf("%w; see %s", err, env.command("migrate", "--help"))
	}
	return err
}
