package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/manifest"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// passphrase seals the secrets of an exported file; an option of export
// and apply only, so it lives here.
var passphrase = config.Option{Name: "passphrase", File: true,
	Usage: fmt.Sprintf("passphrase (%d characters or more) sealing the file's secrets: export --with-secrets and apply of such a file", manifest.MinPassphrase)}

func runExport(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("export [-o FILE] [--with-secrets]",
		"Write the whole configuration (services, hosts with their records, webhooks, notification channels) as YAML:\n"+
			"sorted, without ids, timestamps or addresses, so the same configuration gives the same file.\n"+
			"Secrets (service credentials, record passwords, webhook secrets, channel URLs, the hosts'\n"+
			"update-secret hashes) are left out unless --with-secrets, which seals them with a passphrase (argon2id,\n"+
			"AES-256-GCM) and needs the server's secret key to read them.",
		env.getenv, config.DatabaseURL, config.SecretKey, passphrase)
	output := set.FlagSet().String("o", "-", "the file to write (- for standard output)")
	withSecrets := set.FlagSet().Bool("with-secrets", false, "include the secrets, sealed with the passphrase")
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	if len(set.Args()) != 0 {
		set.Usage(env.stderr)
		return errUsage
	}
	url, err := database(set, env)
	if err != nil {
		return err
	}
	var opt manifest.ExportOptions
	if *withSecrets {
		key, err := set.SecretKey()
		if err != nil {
			return err
		}
		opt.Box = secretbox.New(key)
		if opt.Passphrase, err = requirePassphrase(set); err != nil {
			return err
		}
	}
	st, err := openSchema(ctx, env, url)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := manifest.Export(ctx, st, opt)
	if err != nil {
		return err
	}
	if *output == "-" {
		return m.Encode(env.stdout)
	}
	// Written beside the target and renamed: an interrupted export never
	// leaves half a file where a good one was.
	f, err := os.CreateTemp(filepath.Dir(*output), ".ddnsbroker-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := m.Encode(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), *output)
}

func runApply(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("apply -f FILE [--dry-run] [--prune]",
		"Make the configuration what FILE (written by export, or by hand) says. The changes are shown\n"+
			"first; each is made through the JSON API's rules and recorded in the history as made by\n"+
			"this command, all in one transaction: a value the API refuses changes nothing (--dry-run\n"+
			"makes the changes and rolls them back, so it meets the same refusals). Applying the same\n"+
			"file again changes nothing. Objects not in the file are kept (and listed) unless --prune.\n"+
			"It needs the server's secret key, as serve does; a file with secrets also its passphrase.",
		env.getenv, config.DatabaseURL, config.SecretKey, passphrase)
	file := set.FlagSet().String("f", "", "the configuration file (- for standard input)")
	dryRun := set.FlagSet().Bool("dry-run", false, "show the changes, make none")
	prune := set.FlagSet().Bool("prune", false, "delete the records, hosts, services, webhooks and notification channels the file does not have")
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	if *file == "" || len(set.Args()) != 0 {
		set.Usage(env.stderr)
		return errUsage
	}
	var r io.Reader = env.stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	m, err := manifest.Decode(r)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	url, err := database(set, env)
	if err != nil {
		return err
	}
	key, err := set.SecretKey()
	if err != nil {
		return err
	}
	opt := manifest.ApplyOptions{Box: secretbox.New(key), DryRun: *dryRun, Prune: *prune, Out: env.stdout}
	if m.Secrets != nil {
		if opt.Passphrase, err = requirePassphrase(set); err != nil {
			return err
		}
	}
	st, err := openSchema(ctx, env, url)
	if err != nil {
		return err
	}
	defer st.Close()
	if *dryRun {
		fmt.Fprintln(env.stdout, "dry run: nothing will be changed")
	}
	_, err = manifest.Apply(ctx, st, adminAPI(key), m, opt)
	return err
}

// adminAPI is the JSON API as apply calls it: the application as serve
// wires it (with serve's defaults), without its listeners or workers.
// Deliveries it queues are sent by the running server.
func adminAPI(key []byte) manifest.API {
	return func(st *store.Store) (*rest.Admin, error) {
		cfg, err := config.ServeDefaults(key)
		if err != nil {
			return nil, err
		}
		a, err := app.Build(*cfg, app.Options{Store: st, Version: version})
		if err != nil {
			return nil, err
		}
		return a.API.Admin("ddnsbroker apply"), nil
	}
}

func requirePassphrase(set *config.Set) (string, error) {
	p, err := set.String(passphrase)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", &config.Error{Env: passphrase.Env(), Reason: "required for secrets: give --passphrase-file FILE (or " + passphrase.Env() + "_FILE)"}
	}
	return p, nil
}

// openSchema opens the store of a command that reads or writes the
// configuration, refusing a database whose schema is not this binary's.
func openSchema(ctx context.Context, env *environ, url string) (*store.Store, error) {
	st, err := openStore(ctx, url)
	if err != nil {
		return nil, err
	}
	v, dirty, err := st.SchemaVersion(ctx)
	if err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42P01" { // undefined_table: never migrated
			st.Close()
			return nil, fmt.Errorf("read the schema version: %w", err)
		}
	}
	if dirty || v != store.LatestVersion() {
		st.Close()
		return nil, fmt.Errorf("the database schema is at version %d (dirty: %t), this binary needs %d: run %s first",
			v, dirty, store.LatestVersion(), env.command("migrate", "up"))
	}
	return st, nil
}
