package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/djangoimport"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func runImport(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("import ddnsbroker-django FILE.json [--dry-run]",
		"Import the services, hosts and records of the original Django DDnsBroker from a\n"+
			"`manage.py dumpdata ddnsbroker` export (FILE.json, or - for standard input), in one transaction.\n"+
			"Routers keep their secrets; upstream passwords are encrypted with the secret key, which must be\n"+
			"the one the server runs with. Running it again changes nothing.",
		env.getenv, config.DatabaseURL, config.SecretKey)
	dryRun := set.FlagSet().Bool("dry-run", false, "do everything, then roll the transaction back")
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	rest := set.Args()
	if len(rest) != 2 || rest[0] != djangoimport.Source {
		set.Usage(env.stderr)
		return errUsage
	}
	url, err := database(set, env)
	if err != nil {
		return err
	}
	key, err := set.SecretKey()
	if err != nil {
		return err
	}
	exp, err := readExport(env, rest[1])
	if err != nil {
		return err
	}
	st, err := openStore(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	v, dirty, err := st.SchemaVersion(ctx)
	if err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42P01" { // undefined_table: never migrated
			return fmt.Errorf("read the schema version: %w", err)
		}
	}
	if dirty || v != store.LatestVersion() {
		return fmt.Errorf("the database schema is at version %d (dirty: %t), this binary needs %d: run %s first",
			v, dirty, store.LatestVersion(), env.command("migrate", "up"))
	}
	if *dryRun {
		fmt.Fprintf(env.stdout, "dry run: nothing will be changed\n")
	}
	rep, err := djangoimport.Import(ctx, st, exp, djangoimport.Options{SecretKey: key, DryRun: *dryRun,
		Broker: broker.New(st, slog.New(slog.DiscardHandler))})
	if rep != nil {
		rep.Write(env.stdout)
	}
	if errors.Is(err, djangoimport.ErrConflicts) {
		return fmt.Errorf("import stopped by %d conflict(s) with existing objects, listed above; nothing was changed", rep.Count("", djangoimport.Conflict))
	}
	return err
}

func readExport(env *environ, path string) (*djangoimport.Export, error) {
	var r io.Reader = env.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open export: %w", err)
		}
		defer f.Close()
		r = f
	}
	exp, err := djangoimport.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return exp, nil
}
