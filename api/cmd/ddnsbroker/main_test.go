package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Without arguments the binary prints its help on standard output; a
// mistyped command or action is answered with the ones that exist.
func TestHelpAndUnknownCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }}, nil)
	if code != 2 || stderr.Len() != 0 {
		t.Errorf("no arguments: exit %d, stderr %q", code, stderr.String())
	}
	for _, c := range commands {
		if !strings.Contains(stdout.String(), "  "+c.name+" ") {
			t.Errorf("the help does not list %s:\n%s", c.name, stdout.String())
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `ddnsbroker: unknown command "frob"; the commands are serve, migrate, user, import, export, apply, healthcheck and version (ddnsbroker help lists what each does)`},
		{[]string{"users", "list"}, `unknown command "users" (did you mean user?); the commands are serve, migrate, user,`},
		{[]string{"user", "passwrd", "admin"}, `ddnsbroker user: unknown action "passwrd"; the actions are add, passwd, delete and list`},
		{[]string{"user", "passwd"}, `ddnsbroker user: say which user, e.g. ddnsbroker user passwd admin`},
	} {
		code, out := cli(map[string]string{"DDNSBROKER_DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, "", c.args...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d\n%s\nwant %q", strings.Join(c.args, " "), code, out, c.want)
		}
	}
}
