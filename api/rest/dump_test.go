package rest_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// pgDump finds pg_dump as db/cluster.sh finds the server: the newest
// /usr/lib/postgresql/*/bin first, then PATH.
func pgDump(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	if len(dirs) > 0 {
		return dirs[0]
	}
	p, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatal("pg_dump not found: install postgresql-client")
	}
	return p
}

func versionOf(path string) int {
	n := 0
	for _, c := range filepath.Base(filepath.Dir(filepath.Dir(path))) {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	return n
}

// TestDumpHoldsNoUpstreamPassword: the upstream password of a record is
// stored encrypted, so a dump of the database does not reveal it; nor does
// it reveal host secrets, account passwords or API tokens.
func TestDumpHoldsNoUpstreamPassword(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)
	apiTok, _ := h.apiToken(session, "script", "write")
	svc := create[rest.Service](h, session, "/services", map[string]any{"name": "he", "protocol": "dyndns2",
		"url": "https://dyn.dns.he.net/nic/update"})
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "home.example.net"})
	rec := create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id,
		"fqdn": "dump-check.example.net", "username": "dumpuser", "password": "S3cr3tUpd4t3"})
	if !rec.PasswordSet {
		t.Fatal("password not set")
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(pgDump(t), "--no-owner", "--dbname", h.st.Pool.Config().ConnString())
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	dump := out.String()
	if !strings.Contains(dump, "dump-check.example.net") || !strings.Contains(dump, "dumpuser") {
		t.Fatal("the dump does not hold the record at all")
	}
	for name, secret := range map[string]string{"record password": "S3cr3tUpd4t3", "host secret": host.Secret,
		"API token": apiTok, "admin password": adminPassword} {
		if strings.Contains(dump, secret) {
			t.Errorf("the %s is in the database dump", name)
		}
	}
}
