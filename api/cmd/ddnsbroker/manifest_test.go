package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// README's example file is what export writes for that configuration:
// applied on an empty database, the export gives it back byte for byte,
// and applying it again changes nothing. The commands are the ones README
// shows, run as the binary runs them.
func TestExportApplyCommands(t *testing.T) {
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(section(t, readme(t), "## Configuration as a file"))
	if m == nil {
		t.Fatal("README's export section has no yaml example")
	}
	example := m[1]
	dir := t.TempDir()
	file := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(file, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DDNSBROKER_DATABASE_URL": storetest.NewURL(t), "DDNSBROKER_SECRET_KEY": testSecretKey}

	code, out := cli(env, "", "apply", "-f", file, "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: nothing will be changed") || !strings.Contains(out, "3 to create, 0 to change, 0 to delete, 0 unchanged") {
		t.Fatalf("apply --dry-run: exit %d\n%s", code, out)
	}
	if code, out = cli(env, "", "export"); code != 0 || strings.Contains(out, "he.net") {
		t.Fatalf("the dry run created something: exit %d\n%s", code, out)
	}
	code, out = cli(env, "", "apply", "-f", file)
	if code != 0 || !strings.Contains(out, "+ record nas.example.net via he.net: on host home.example.net") ||
		!strings.Contains(out, "3 created, 0 changed, 0 deleted") {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	exported := filepath.Join(dir, "exported.yaml")
	if code, out = cli(env, "", "export", "-o", exported); code != 0 {
		t.Fatalf("export -o: exit %d\n%s", code, out)
	}
	got, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?m)\A(#.*\n)+`).ReplaceAllString(string(got), "")
	if body != example {
		t.Errorf("README's example is not what export writes for it:\n%s\n---\n%s", example, body)
	}
	if code, out = cli(env, "", "apply", "-f", exported); code != 0 || !strings.Contains(out, "nothing to change") {
		t.Errorf("apply of the export: exit %d\n%s", code, out)
	}

	// Secrets need a passphrase, from a file as README shows.
	if code, out = cli(env, "", "export", "--with-secrets"); code == 0 || !strings.Contains(out, "DDNSBROKER_PASSPHRASE") {
		t.Errorf("export --with-secrets without a passphrase: exit %d\n%s", code, out)
	}
	pass := filepath.Join(dir, "pass.txt")
	if err := os.WriteFile(pass, []byte("a passphrase for tests\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed := filepath.Join(dir, "sealed.yaml")
	if code, out = cli(env, "", "export", "--with-secrets", "--passphrase-file", pass, "-o", sealed); code != 0 {
		t.Fatalf("export --with-secrets: exit %d\n%s", code, out)
	}
	if code, out = cli(env, "", "apply", "-f", sealed); code == 0 || !strings.Contains(out, "DDNSBROKER_PASSPHRASE") {
		t.Errorf("apply of a sealed file without its passphrase: exit %d\n%s", code, out)
	}
	if code, out = cli(env, "", "apply", "-f", sealed, "--passphrase-file", pass); code != 0 || !strings.Contains(out, "nothing to change") {
		t.Errorf("apply of the sealed file: exit %d\n%s", code, out)
	}
	if code, out = cli(env, "", "apply"); code != 2 || !strings.Contains(out, "apply -f FILE") {
		t.Errorf("apply without -f: exit %d\n%s", code, out)
	}
}
