package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

const importFixture = "../../djangoimport/testdata/ddnsbroker-dumpdata.json"

func TestImportCommand(t *testing.T) {
	dbURL := storetest.NewURL(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_SECRET_KEY": testSecretKey}
	cmd := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return env[k] }}, args)
		return code, stdout.String(), stderr.String()
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows := func() int {
		var n int
		if err := st.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM hosts) + (SELECT count(*) FROM services)
			+ (SELECT count(*) FROM records) + (SELECT count(*) FROM events) + (SELECT count(*) FROM deliveries)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	code, out, errOut := cmd("import", "ddnsbroker-django", importFixture, "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: the transaction was rolled back, nothing was changed") || rows() != 0 {
		t.Fatalf("dry run: exit %d, %d rows\n%s%s", code, rows(), out, errOut)
	}

	code, out, errOut = cmd("import", "ddnsbroker-django", importFixture)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"created    service he.net (ddnsbroker.updateservice pk 1)",
		"created    host loc01.example.com (ddnsbroker.host pk 1)",
		"created    record srv01.loc01.example.com via he.net (ddnsbroker.record pk 2): on host loc01.example.com; IPv4 off; IPv6 2001:db8:1324:5678::cafe already delivered",
		"services 3 created, 0 unchanged; hosts 3 created, 0 unchanged; records 6 created, 0 unchanged; 0 conflicts; 0 effective address mismatches; 0 deliveries queued; 12 events",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first run lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n") != 14 {
		t.Errorf("first run: want 12 object lines, a summary and a closing line:\n%s", out)
	}
	imported := rows()

	code, out, _ = cmd("import", "ddnsbroker-django", importFixture)
	if code != 0 || strings.Count(out, "unchanged  ") != 12 || !strings.Contains(out, "nothing to do") || rows() != imported {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}

	// Invalid input: a clear error naming object and field, nothing changed.
	bad := filepath.Join(t.TempDir(), "bad.json")
	data, err := os.ReadFile(importFixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, bytes.Replace(data, []byte(`"ipv4_netmask": 24`), []byte(`"ipv4_netmask": 240`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cmd("import", "ddnsbroker-django", bad)
	if code != 1 || !strings.Contains(errOut, "ddnsbroker.record pk 5, field ipv4_netmask: must be a whole number from 0 to 32") || rows() != imported {
		t.Fatalf("invalid export: exit %d\n%s", code, errOut)
	}

	// An object this export created earlier may change since: it stays as it is.
	if _, err := st.Pool.Exec(context.Background(), `UPDATE services SET settings = '{"url": "https://other.example/"}' WHERE name = 'desec'`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cmd("import", "ddnsbroker-django", importFixture)
	if code != 0 || !strings.Contains(out, "unchanged  service desec (ddnsbroker.updateservice pk 2): imported earlier from this export and changed since (url); kept as it is") ||
		rows() != imported {
		t.Fatalf("changed since: exit %d\n%s%s", code, out, errOut)
	}

	// Usage and configuration errors.
	if code, _, errOut := cmd("import", "something-else", importFixture); code != 2 || !strings.Contains(errOut, "Usage: ddnsbroker import") {
		t.Fatalf("unknown source: exit %d\n%s", code, errOut)
	}
	delete(env, "DDNSBROKER_SECRET_KEY")
	if code, _, errOut := cmd("import", "ddnsbroker-django", importFixture); code != 1 || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "DDNSBROKER_SECRET_KEY: required") {
		t.Fatalf("no secret key: exit %d\n%s", code, errOut)
	}
}

func TestImportCommandNeedsAMigratedDatabase(t *testing.T) {
	env := map[string]string{"DDNSBROKER_DATABASE_URL": storetest.NewEmptyURL(t), "DDNSBROKER_SECRET_KEY": testSecretKey}
	var stderr bytes.Buffer
	code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr,
		getenv: func(k string) string { return env[k] }}, []string{"import", "ddnsbroker-django", importFixture})
	if code != 1 || !strings.Contains(stderr.String(), "run ddnsbroker migrate up first") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestImportCommandStopsOnConflict(t *testing.T) {
	dbURL := storetest.NewURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Not from this export: a service of the same name, made by hand.
	if _, err := st.Pool.Exec(context.Background(), `INSERT INTO services (name, protocol, settings)
		VALUES ('DeSEC', 'dyndns2', '{"url": "https://other.example/"}')`); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_SECRET_KEY": testSecretKey}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] }}, []string{"import", "ddnsbroker-django", importFixture})
	out := stdout.String()
	if code != 1 || !strings.Contains(out, `conflict   service desec (ddnsbroker.updateservice pk 2): exists with other content: name "DeSEC" here, url`) ||
		!strings.Contains(stderr.String(), "import stopped by 1 conflict(s) with existing objects, listed above; nothing was changed") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr.String())
	}
	var n int
	if err := st.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM hosts) + (SELECT count(*) FROM services)
		+ (SELECT count(*) FROM records) + (SELECT count(*) FROM events)`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows after a conflict, want the 1 service (%v)", n, err)
	}
}
