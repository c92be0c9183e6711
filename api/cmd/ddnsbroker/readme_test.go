package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// readme is the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answerAfter returns the line that follows the README line starting with
// command: the answer the README shows for it.
func answerAfter(t *testing.T, doc, command string) (line, answer string) {
	t.Helper()
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, command) && i+1 < len(lines) {
			return l, lines[i+1]
		}
	}
	t.Fatalf("README.md has no line starting with %q", command)
	return "", ""
}

// The README's examples are what the binary answers: /readyz with the
// schema version of this binary, the dyndns2 update with curl, the output
// of version; its tables name exactly the commands and settings there are.
func TestREADMEExamplesAreTrue(t *testing.T) {
	doc := readme(t)
	dbURL := storetest.NewURL(t)
	seed(t, dbURL, "http://127.0.0.1:1", "router.example.com", "SECRET")
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})

	t.Run("readyz", func(t *testing.T) {
		_, shown := answerAfter(t, doc, "curl -s http://127.0.0.1:8080/readyz")
		_, body := get(t, srv.URL+"/readyz")
		var want, got any
		if err := json.Unmarshal([]byte(shown), &want); err != nil {
			t.Fatalf("README's /readyz answer %q: %v", shown, err)
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("README shows /readyz answering\n%s\nthe server answers\n%s", shown, strings.TrimSpace(body))
		}
	})

	t.Run("dyndns2 update with curl", func(t *testing.T) {
		cmd, shown := answerAfter(t, doc, "curl -u router.example.com:SECRET ")
		cmd = strings.ReplaceAll(cmd, "http://127.0.0.1:8080", srv.URL)
		out, err := exec.Command("sh", "-c", cmd).Output() // curl's progress meter goes to stderr
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != shown {
			t.Errorf("README shows the update answering %q, the server answers %q", shown, got)
		}
	})

	t.Run("version", func(t *testing.T) {
		shape := regexp.MustCompile(`^ddnsbroker \S+$`)
		m := regexp.MustCompile("the version, e.g. `([^`]+)`").FindStringSubmatch(doc)
		if m == nil || !shape.MatchString(m[1]) {
			t.Fatalf("README's example of ddnsbroker version %v does not look like %s", m, shape)
		}
		code, out := cli(nil, "", "version")
		if code != 0 || !shape.MatchString(strings.TrimSpace(out)) {
			t.Errorf("ddnsbroker version: exit %d, %q, want the shape of %q", code, out, m[1])
		}
	})

	t.Run("commands", func(t *testing.T) {
		var listed []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z]+)[ `]").FindAllStringSubmatch(section(t, doc, "Other commands"), -1) {
			listed = append(listed, m[1])
		}
		var real []string
		for _, c := range commands {
			real = append(real, c.name)
		}
		if !slices.Equal(listed, real) {
			t.Errorf("README's command table lists %v, the binary has %v", listed, real)
		}
		_, out := cli(nil, "")
		for _, c := range real {
			if !strings.Contains(out, "  "+c+" ") {
				t.Errorf("ddnsbroker without arguments does not list %s:\n%s", c, out)
			}
		}
	})

	t.Run("settings", func(t *testing.T) {
		var listed []string
		for _, m := range regexp.MustCompile("(?m)^\\| `(DDNSBROKER_[A-Z0-9_]+)` \\|").FindAllStringSubmatch(section(t, doc, "## Configuration"), -1) {
			listed = append(listed, m[1])
		}
		var real []string
		for _, o := range config.ServeOptions {
			real = append(real, o.Env())
		}
		slices.Sort(listed)
		slices.Sort(real)
		if !slices.Equal(listed, real) {
			t.Errorf("README's configuration table lists\n%v\nserve takes\n%v", listed, real)
		}
		_, help := cli(nil, "", "serve", "--help")
		for _, env := range real {
			if !strings.Contains(help, "$"+env) {
				t.Errorf("serve --help does not name %s", env)
			}
		}
	})
}

// section is the README from the line holding heading to the next "## ".
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, heading)
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// The README sends its reader only to files of the repository: every
// relative link resolves, and nothing points outside the checkout.
func TestREADMELinksStayInTheRepository(t *testing.T) {
	doc := readme(t)
	// Outside the commands of its code blocks (ln -s ../sites-available/…
	// is a command), no path climbs out of the checkout.
	prose := regexp.MustCompile("(?ms)^```.*?^```").ReplaceAllString(doc, "")
	if m := regexp.MustCompile(`\S*\.\./\S*`).FindString(prose); m != "" {
		t.Errorf("README.md points outside the repository: %s", m)
	}
	for _, m := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(doc, -1) {
		target := m[1]
		if strings.HasPrefix(target, "#") || strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
			continue
		}
		path, _, _ := strings.Cut(target, "#")
		if _, err := os.Stat(filepath.Join("../../..", path)); err != nil {
			t.Errorf("README.md links to %s, which the repository does not have", target)
		}
	}
	// Backquoted paths to files the README tells the reader to open.
	for _, m := range regexp.MustCompile("`((?:api|db|deploy|frontend)/[A-Za-z0-9_./-]+\\.(?:go|sh|yaml|md|mjs))`").FindAllStringSubmatch(doc, -1) {
		if _, err := os.Stat(filepath.Join("../../..", m[1])); err != nil {
			t.Errorf("README.md names %s, which the repository does not have", m[1])
		}
	}
}
