// Command ddnsbroker is the DDnsBroker server and its admin tool.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ddnsbroker/ddnsbroker/api/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environ, args []string) error
}

// environ is the process's outside world, passed explicitly so tests can run commands.
type environ struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// checkouts are where admin commands look for the private PostgreSQL
	// of make run when no database URL is set (none in tests).
	checkouts []string
	// program names this binary in the commands hints suggest ("": ddnsbroker).
	program string
}

var commands = []command{
	{"serve", "Run the server: dyndns2 endpoint, JSON API, web app and delivery dispatcher.", runServe},
	{"migrate", "Apply or revert database migrations: migrate up | down [N] | status | force VERSION.", runMigrate},
	{"user", "Manage accounts (add makes an admin): user add | passwd | list | delete.", runUser},
	{"import", "Import an export of another DDnsBroker: import ddnsbroker-django FILE.json [--dry-run].", runImport},
	{"export", "Write the configuration as YAML: export [-o FILE] [--with-secrets].", runExport},
	{"apply", "Make the configuration what a YAML file says: apply -f FILE [--dry-run] [--prune].", runApply},
	{"healthcheck", "Exit 0 when the local server answers /healthz (for container health checks).", runHealthcheck},
	{"version", "Print the version.", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &environ{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		checkouts: checkouts(), program: program()}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *environ, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil, errors.Is(err, config.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(env.stderr, "ddnsbroker %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(env.stderr, "ddnsbroker: unknown command %q%s; the commands are %s (%s lists what each does)\n",
		args[0], suggest(args[0]), commandNames(), env.command("help"))
	return 2
}

// commandNames lists the commands: "serve, migrate, … and version".
func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// suggest names the command a mistyped one was probably meant to be
// (users → user, migration → migrate).
func suggest(name string) string {
	for _, c := range commands {
		if len(name) >= 3 && (strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) ||
			len(name) > 5 && strings.HasPrefix(name, c.name[:len(c.name)-1])) {
			return fmt.Sprintf(" (did you mean %s?)", c.name)
		}
	}
	return ""
}

// errUsage marks a usage error whose message was already written.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintf(w, "DDnsBroker %s: one dyndns2 update in, every derived DNS record out.\n\nUsage: ddnsbroker COMMAND [flags]\n\nCommands:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'ddnsbroker COMMAND --help' for a command's flags and their DDNSBROKER_* variables.\n")
}

func runVersion(_ context.Context, env *environ, args []string) error {
	set := config.NewSet("version", "Print the version.", env.getenv)
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ddnsbroker %s\n", version)
	return nil
}
