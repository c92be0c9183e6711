package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// privateCluster is the PostgreSQL cluster `make run` starts in a
// checkout's var/postgres when no DDNSBROKER_DATABASE_URL is set
// (db/cluster.sh keeps its port and password there), so that the admin
// commands run from that checkout reach the same database without one.
type privateCluster struct {
	root string // the checkout
	dir  string // root/var/postgres
	addr string // 127.0.0.1:port
	url  string
}

// findPrivateCluster looks for the cluster in each candidate checkout.
func findPrivateCluster(roots []string) (privateCluster, bool) {
	for _, root := range roots {
		dir := filepath.Join(root, "var", "postgres")
		port, err1 := os.ReadFile(filepath.Join(dir, "port"))
		password, err2 := os.ReadFile(filepath.Join(dir, "password"))
		if err1 != nil || err2 != nil {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strings.TrimSpace(string(port)))
		// The same URL as `db/cluster.sh url`.
		u := url.URL{Scheme: "postgres", User: url.UserPassword("ddnsbroker", strings.TrimSpace(string(password))),
			Host: addr, Path: "/ddnsbroker", RawQuery: "sslmode=disable"}
		return privateCluster{root: root, dir: dir, addr: addr, url: u.String()}, true
	}
	return privateCluster{}, false
}

// running tells whether the cluster accepts connections.
func (c privateCluster) running() bool {
	conn, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// checkouts are where an admin command looks for the private cluster: the
// working directory, and the checkout whose bin/ holds this binary.
func checkouts() []string {
	var out []string
	if wd, err := os.Getwd(); err == nil {
		out = append(out, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil && filepath.Base(filepath.Dir(exe)) == "bin" {
			out = append(out, filepath.Dir(filepath.Dir(exe)))
		}
	}
	return out
}

// program is how hints name this binary so that they run when pasted: its
// bare name when that is what PATH finds, otherwise its absolute path.
func program() string {
	exe, err := os.Executable()
	if err != nil {
		return "ddnsbroker"
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	if p, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && real == exe {
			return filepath.Base(exe)
		}
	}
	return exe
}

// command is a hint: this binary with args, as a command line to paste.
func (env *environ) command(args ...string) string {
	name := env.program
	if name == "" {
		name = "ddnsbroker"
	}
	return strings.Join(append([]string{name}, args...), " ")
}

// database returns the database URL of an admin command: the one
// configured, or else the private cluster of `make run` in this checkout,
// saying so on standard error. With that cluster, the checkout's secret key
// (var/secret_key) is the default too.
func database(set *config.Set, env *environ) (string, error) {
	u, err := set.String(config.DatabaseURL)
	if err != nil || u != "" {
		return set.Database()
	}
	c, ok := findPrivateCluster(env.checkouts)
	if !ok {
		return set.Database()
	}
	if !c.running() {
		start := "make run (in " + c.root + ")"
		if script := filepath.Join(c.root, "db", "cluster.sh"); fileExists(script) {
			start = script + " start " + c.dir
		}
		return "", fmt.Errorf("%s is not set, and the private PostgreSQL of make run in %s is not running; start it with: %s",
			config.DatabaseURL.Env(), c.dir, start)
	}
	fmt.Fprintf(env.stderr, "database: the private PostgreSQL of make run in %s (set %s for another)\n", c.dir, config.DatabaseURL.Env())
	if err := set.FlagSet().Set(config.DatabaseURL.Name, c.url); err != nil {
		return "", err
	}
	if set.FlagSet().Lookup(config.SecretKey.Name) == nil {
		return set.Database()
	}
	if key, _ := set.String(config.SecretKey); key == "" {
		if f := filepath.Join(c.root, "var", "secret_key"); fileExists(f) {
			if err := set.FlagSet().Set(config.SecretKey.Name+"-file", f); err != nil {
				return "", err
			}
		}
	}
	return set.Database()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openStore connects an admin command to its database, failing at once
// with one clear sentence when it cannot.
func openStore(ctx context.Context, url string) (*store.Store, error) {
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, databaseError(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		st.Close()
		return nil, databaseError(err)
	}
	return st, nil
}

// databaseError turns a failed connection into a sentence that says what
// to check in DDNSBROKER_DATABASE_URL; other errors pass unchanged.
func databaseError(err error) error {
	ce := store.ExplainConnect(err)
	if ce == nil {
		return err
	}
	env := config.DatabaseURL.Env()
	var advice string
	switch {
	case ce.Kind == store.NoDatabase:
		advice = "create it, or correct the database name in " + env
	case ce.Kind == store.Refused:
		advice = "check the user name and password in " + env
	default:
		advice = "is PostgreSQL running, and are the host and port in " + env + " right?"
	}
	return &store.ConnectError{Reason: ce.Reason + "; " + advice, Kind: ce.Kind, Err: err}
}

// retryDatabase runs try until it succeeds, waiting up to wait for a
// database that cannot be reached yet (it may still be starting). A
// database that refuses the credentials, or does not exist, fails at once:
// waiting cannot fix the URL.
func retryDatabase(ctx context.Context, log *slog.Logger, wait time.Duration, try func() error) error {
	deadline := time.Now().Add(wait)
	for {
		err := try()
		if err == nil {
			return nil
		}
		err = databaseError(err)
		var ce *store.ConnectError
		if !errors.As(err, &ce) || ce.Permanent() {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w (gave up after %s)", err, wait)
		}
		log.Warn("waiting for the database: "+ce.Reason, "retrying_for", time.Until(deadline).Round(time.Second).String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
