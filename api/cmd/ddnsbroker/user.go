package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// minPasswordLen is the shortest admin password accepted.
const minPasswordLen = 10

func runUser(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("user add|passwd|delete NAME | user list",
		"Manage accounts; add makes an admin (roles and limits: the web app or the API).\nadd and passwd read the password from standard input,\nor prompt for it twice on a terminal. NAME may also be given as --username NAME.\n"+
			"Without a database URL, the private PostgreSQL of make run in this checkout is used.",
		env.getenv, config.DatabaseURL)
	username := set.FlagSet().String("username", "", "the account's name (or NAME after the action)")
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	rest := set.Args()
	if len(rest) == 2 && *username == "" && rest[0] != "list" {
		*username, rest = rest[1], rest[:1]
	}
	switch {
	case len(rest) > 0 && !slices.Contains([]string{"add", "passwd", "delete", "list"}, rest[0]):
		fmt.Fprintf(env.stderr, "ddnsbroker user: unknown action %q; the actions are add, passwd, delete and list\n\n", rest[0])
		fallthrough
	case len(rest) != 1:
		set.Usage(env.stderr)
		return errUsage
	}
	action := rest[0]
	if action != "list" && *username == "" {
		return fmt.Errorf("say which user, e.g. %s", env.command("user", action, "admin"))
	}
	url, err := database(set, env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	switch action {
	case "add":
		hash, err := readPasswordHash(env)
		if err != nil {
			return err
		}
		u, err := st.CreateUser(ctx, *username, hash)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a user named %q already exists", *username)
		}
		if errors.Is(err, store.ErrInvalid) {
			return fmt.Errorf("%q is not a valid username: 1-64 letters, digits, '.', '_', '@' or '-'", *username)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created user %s (id %d)\n", u.Username, u.ID)
	case "passwd":
		u, err := userByName(ctx, st, *username)
		if err != nil {
			return err
		}
		hash, err := readPasswordHash(env)
		if err != nil {
			return err
		}
		if err := st.SetUserPassword(ctx, u.ID, hash, ""); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "password of %s changed; its web sessions were ended\n", u.Username)
	case "delete":
		u, err := userByName(ctx, st, *username)
		if err != nil {
			return err
		}
		if err := st.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "deleted user %s\n", u.Username)
	case "list":
		users, err := st.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tCREATED\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.UTC().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, u.CreatedAt.UTC().Format("2006-01-02 15:04"), last)
		}
		return tw.Flush()
	default:
		set.Usage(env.stderr)
		return errUsage
	}
	return nil
}

// userByName finds an account, saying clearly when there is none.
func userByName(ctx context.Context, st *store.Store, name string) (store.User, error) {
	u, err := st.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("no user named %q", name)
	}
	return u, err
}

// readPasswordHash reads a new password and hashes it with argon2id.
func readPasswordHash(env *environ) (string, error) {
	pw, err := readPassword(env)
	if err != nil {
		return "", err
	}
	return auth.HashPassword(auth.DefaultParams, pw)
}

// readPassword prompts twice on a terminal, or reads one line from a pipe.
func readPassword(env *environ) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(env.stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(a))
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

func checkPassword(pw string) (string, error) {
	if len([]rune(pw)) < minPasswordLen {
		return "", fmt.Errorf("the password must have at least %d characters", minPasswordLen)
	}
	return pw, nil
}
