package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// The deployment files in deploy/ are checked by the tools that consume them.

func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: make test installs systemd")
	}
	unit, err := os.ReadFile("../../../deploy/ddnsbroker.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify insists that ExecStart exists: point it at an executable of ours.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(unit), "ExecStart=/usr/local/bin/ddnsbroker", "ExecStart="+self, 1)
	path := filepath.Join(dir, "ddnsbroker.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// Lines about other units on this machine are not ours to judge.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "ddnsbroker.service") {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
		"EnvironmentFile=/etc/ddnsbroker/ddnsbroker.env", "LoadCredential=secret_key:", "LoadCredential=database_url:"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// The unit's SystemCallFilter= kills the service on the first system call
// outside it. The server, run under strace through a start, the web app, a
// login, a router's update with its delivery and a graceful stop, must make
// none but those the filter allows (as systemd-analyze expands its groups).
func TestSystemdUnitSyscallFilter(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: make test installs systemd")
	}
	strace := lookClient(t, "strace")
	expanded := map[string][]string{}
	var expand func(group string) []string
	expand = func(group string) []string {
		if !strings.HasPrefix(group, "@") {
			return []string{group}
		}
		if names, ok := expanded[group]; ok {
			return names
		}
		out, err := exec.Command(analyze, "syscall-filter", group).Output()
		if err != nil {
			t.Fatalf("systemd-analyze syscall-filter %s: %v", group, err)
		}
		var names []string
		for _, l := range strings.Split(string(out), "\n")[1:] {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			names = append(names, expand(l)...)
		}
		expanded[group] = names
		return names
	}
	allowed, denied := map[string]bool{}, map[string]bool{}
	filters := 0
	for _, l := range strings.Split(readDeployFile(t, "ddnsbroker.service"), "\n") {
		v, ok := strings.CutPrefix(l, "SystemCallFilter=")
		if !ok {
			continue
		}
		filters++
		set := allowed
		if v, ok = strings.CutPrefix(v, "~"); ok {
			set = denied
		}
		for _, f := range strings.Fields(v) {
			for _, name := range expand(f) {
				set[name] = true
			}
		}
	}
	if filters == 0 || len(allowed) == 0 {
		t.Fatal("the unit has no SystemCallFilter= allow-list")
	}

	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-3", recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""})
	bin := buildServer(t)
	trace := filepath.Join(t.TempDir(), "strace.txt")
	addr := freeAddr(t)
	cmd := exec.Command(strace, "-f", "-qq", "-c", "-o", trace, bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DDNSBROKER_LISTEN=" + addr, "DDNSBROKER_DATABASE_URL=" + dbURL,
		"DDNSBROKER_SECRET_KEY=" + testSecretKey, "DDNSBROKER_ADMIN_PASSWORD=admin-password-for-tests", "DDNSBROKER_LOG_LEVEL=warn"}
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server log:\n%s", tail(log.String(), 4000))
		}
	})
	base := "http://" + addr
	waitUntil(t, "the traced server", 60*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if code, _ := get(t, base+"/"); code != 200 {
		t.Fatalf("GET / answered %d", code)
	}
	apiLogin(t, base, "admin", "admin-password-for-tests")
	mustUpdate(t, base, "router.example.com", "router-secret-3", "198.51.100.77", "good")
	waitUntil(t, "the delivery", 10*time.Second, func() bool { return has(up.requests(), "www.example.com", "198.51.100.77") })

	// Stop the server (strace's child) as systemd would; strace then writes
	// its table.
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	server, err2 := strconv.Atoi(strings.TrimSpace(string(children)))
	if err != nil || err2 != nil {
		t.Fatalf("the server under strace: %v %v %q", err, err2, children)
	}
	if err := syscall.Kill(server, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
	table, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var used, outside []string
	for _, l := range strings.Split(string(table), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || strings.HasPrefix(f[0], "%") || strings.HasPrefix(f[0], "-") || f[len(f)-1] == "total" {
			continue
		}
		name := f[len(f)-1]
		if !syscallName.MatchString(name) {
			// strace -c also prints rows for calls it saw only in part
			// ("[...>"): not a system call's name.
			continue
		}
		used = append(used, name)
		if !allowed[name] || denied[name] {
			outside = append(outside, name)
		}
	}
	if len(used) < 20 {
		t.Fatalf("strace saw only %d system calls:\n%s", len(used), table)
	}
	if len(outside) > 0 {
		t.Fatalf("the server makes system calls the unit's SystemCallFilter forbids: %v (it made %v)", outside, used)
	}
	t.Logf("%d distinct system calls, all allowed by the unit", len(used))
}

// unitEnvironment is the environment systemd gives the service: the
// unit's Environment= lines after its EnvironmentFile=, which is
// deploy/ddnsbroker.env.example as installed, with %d (the credentials
// directory) standing for creds. It also returns the credentials the unit
// loads, by name.
func unitEnvironment(t *testing.T, creds string) (env map[string]string, credentials []string) {
	env = map[string]string{}
	example := readDeployFile(t, "ddnsbroker.env.example")
	for _, l := range strings.Split(example, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("ddnsbroker.env.example: %q is not NAME=value", l)
		}
		env[k] = v
	}
	for _, l := range strings.Split(readDeployFile(t, "ddnsbroker.service"), "\n") {
		switch {
		case strings.HasPrefix(l, "Environment="):
			k, v, _ := strings.Cut(strings.TrimPrefix(l, "Environment="), "=")
			env[k] = strings.ReplaceAll(v, "%d", creds)
		case strings.HasPrefix(l, "LoadCredential="):
			name, _, _ := strings.Cut(strings.TrimPrefix(l, "LoadCredential="), ":")
			credentials = append(credentials, name)
		}
	}
	return env, credentials
}

// The unit and the environment file as shipped, with the secrets systemd
// hands over as credentials, configure a server that starts and is ready;
// no secret sits in the environment file.
func TestSystemdUnitEnvironmentServes(t *testing.T) {
	creds := t.TempDir()
	env, credentials := unitEnvironment(t, creds)
	values := map[string]string{"secret_key": testSecretKey, "database_url": storetest.NewURL(t)}
	for _, name := range credentials {
		v, ok := values[name]
		if !ok {
			t.Fatalf("the unit loads credential %q, which this test does not know", name)
		}
		writeFile(t, filepath.Join(creds, name), v+"\n")
	}
	for _, k := range []string{"DDNSBROKER_SECRET_KEY", "DDNSBROKER_DATABASE_URL", "DDNSBROKER_METRICS_TOKEN", "DDNSBROKER_ADMIN_PASSWORD"} {
		if v, ok := env[k]; ok {
			t.Errorf("the unit's environment sets the secret %s=%q; it belongs in a credential (%s_FILE)", k, v, k)
		}
		env[k] = "" // not the test defaults: the _FILE variables must do
	}
	if env["DDNSBROKER_LISTEN"] == "" {
		t.Error("the environment file sets no DDNSBROKER_LISTEN")
	}
	delete(env, "DDNSBROKER_LISTEN") // startServe's free port: the example's 127.0.0.1:8080 may be taken
	srv := startServe(t, env)
	if code, body := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz answered %d: %s", code, body)
	}
}

func TestComposeFileParses(t *testing.T) {
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is missing: make test installs it")
	}
	dir := t.TempDir()
	for _, f := range []string{"compose.yaml", "Caddyfile"} {
		b, err := os.ReadFile(filepath.Join("../../../deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"secret_key", "db_password", "database_url"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(compose, "-f", filepath.Join(dir, "compose.yaml"), "config")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("compose config: %v\n%s", err, out)
	}
	for _, want := range []string{"DDNSBROKER_SECRET_KEY_FILE", "postgres", "caddy"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rendered compose lacks %s", want)
		}
	}
	// The broker believes the forwarded address of Caddy alone.
	proxies := regexp.MustCompile(`DDNSBROKER_TRUSTED_PROXIES: (\S+)`).FindSubmatch(out)
	caddyIP := regexp.MustCompile(`(?s)\n  caddy:\n.*?ipv4_address: (\S+)`).FindSubmatch(out)
	if proxies == nil || caddyIP == nil || string(proxies[1]) != string(caddyIP[1])+"/32" {
		t.Errorf("DDNSBROKER_TRUSTED_PROXIES is not caddy's address:\n%s", out)
	}
}

func TestDockerfileBuildsWithMake(t *testing.T) {
	b := readDeployFile(t, "Dockerfile")
	// The image is built by the same command as a workstation build.
	if !strings.Contains(b, "RUN make build") || !strings.Contains(b, "USER nonroot") || !strings.Contains(b, "HEALTHCHECK") {
		t.Fatal("Dockerfile must build with `make build`, run as non-root and declare a HEALTHCHECK")
	}
}

// The Node.js of the Dockerfile's build stage (the official image of a
// major version, which follows its newest release) must be one that every
// tool of the web app accepts: the engines.node of each package in
// package-lock.json. Debian 12's Node 18 is not (Vite 7 wants ^20.19).
func TestDockerfileNodeRunsTheWebAppTools(t *testing.T) {
	m := regexp.MustCompile(`(?m)^FROM node:(\d+)[-.\w]* AS `).FindStringSubmatch(readDeployFile(t, "Dockerfile"))
	if m == nil {
		t.Fatal("the Dockerfile takes Node.js from no official node image (FROM node:<major>… AS …)")
	}
	major, _ := strconv.Atoi(m[1])
	node := [3]int{major, 999, 999} // the newest release of that major version
	lock, err := os.ReadFile("../../../package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct {
			Engines json.RawMessage `json:"engines"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, p := range l.Packages {
		var engines struct {
			Node string `json:"node"`
		}
		if json.Unmarshal(p.Engines, &engines) != nil || engines.Node == "" {
			continue // absent, or the old array form that npm ignores
		}
		ok, err := semverSatisfies(node, engines.Node)
		if err != nil {
			t.Fatalf("%s: engines.node %q: %v", name, engines.Node, err)
		}
		if !ok {
			t.Errorf("%s wants Node.js %q; the Dockerfile's node:%d does not fit", name, engines.Node, major)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d packages in package-lock.json name their Node.js versions; is it the lock file?", checked)
	}
}

// semverSatisfies reports whether version v is in the npm range r, in the
// forms package-lock.json uses: alternatives joined by ||, each a list of
// comparators (>=, >, <=, <, =, ^, ~ with a full or partial version, or a
// bare partial version such as 18 or 18.x), or *.
func semverSatisfies(v [3]int, r string) (bool, error) {
	r = regexp.MustCompile(`(>=|<=|>|<|=|\^|~)\s+`).ReplaceAllString(r, "$1")
	for _, alt := range strings.Split(r, "||") {
		all := true
		for _, c := range strings.Fields(alt) {
			ok, err := semverComparator(v, c)
			if err != nil {
				return false, err
			}
			all = all && ok
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func semverComparator(v [3]int, c string) (bool, error) {
	if c == "*" || c == "x" {
		return true, nil
	}
	op := regexp.MustCompile(`^(>=|<=|>|<|=|\^|~)?`).FindString(c)
	var w [3]int
	parts := strings.Split(strings.TrimPrefix(c[len(op):], "v"), ".")
	given := 0
	for i, p := range parts {
		if i > 2 || p == "" {
			return false, fmt.Errorf("cannot read %q", c)
		}
		if p == "x" || p == "X" || p == "*" {
			break
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return false, fmt.Errorf("cannot read %q", c)
		}
		w[i] = n
		given++
	}
	cmp := func(a, b [3]int) int { return slices.Compare(a[:], b[:]) }
	// upper is the first version past a partial version or a caret/tilde range.
	upper := func(level int) [3]int {
		u := [3]int{}
		copy(u[:level+1], w[:level+1])
		u[level]++
		return u
	}
	switch op {
	case ">=":
		return cmp(v, w) >= 0, nil
	case ">":
		return cmp(v, w) > 0, nil
	case "<=":
		return cmp(v, w) <= 0, nil
	case "<":
		return cmp(v, w) < 0, nil
	case "^":
		level := 0 // ^1.2.3 <2.0.0; ^0.2.3 <0.3.0; ^0.0.3 <0.0.4
		for level < given-1 && w[level] == 0 {
			level++
		}
		return cmp(v, w) >= 0 && cmp(v, upper(level)) < 0, nil
	case "~":
		level := min(1, max(given-1, 0))
		return cmp(v, w) >= 0 && cmp(v, upper(level)) < 0, nil
	default: // "=" or a bare version: exact when full, a range when partial
		if given == 3 {
			return cmp(v, w) == 0, nil
		}
		if given == 0 {
			return true, nil
		}
		return cmp(v, w) >= 0 && cmp(v, upper(given-1)) < 0, nil
	}
}

func TestSemverSatisfies(t *testing.T) {
	for _, c := range []struct {
		v    [3]int
		r    string
		want bool
	}{
		{[3]int{18, 20, 8}, "^20.19.0 || >=22.12.0", false},
		{[3]int{20, 19, 0}, "^20.19.0 || >=22.12.0", true},
		{[3]int{22, 11, 0}, "^20.19.0 || >=22.12.0", false},
		{[3]int{22, 999, 999}, "^20.19 || ^22.12 || >=24", true},
		{[3]int{23, 1, 0}, "^20.19 || ^22.12 || >=24", false},
		{[3]int{18, 999, 999}, "18 || 20 || >=22", true},
		{[3]int{19, 0, 0}, "18 || 20 || >=22", false},
		{[3]int{22, 0, 0}, ">= 14.16.0", true},
		{[3]int{22, 0, 0}, "*", true},
		{[3]int{22, 0, 0}, "^8.16.0 || ^10.6.0 || >=11.0.0", true},
		{[3]int{10, 5, 0}, "^8.16.0 || ^10.6.0 || >=11.0.0", false},
		{[3]int{12, 22, 5}, "~12.22.1", true},
		{[3]int{12, 23, 0}, "~12.22.1", false},
		{[3]int{0, 3, 0}, "^0.2.3", false},
		{[3]int{20, 5, 0}, "20.x", true},
		{[3]int{20, 5, 0}, ">=18 <20", false},
	} {
		got, err := semverSatisfies(c.v, c.r)
		if err != nil || got != c.want {
			t.Errorf("%v in %q: %v, %v; want %v", c.v, c.r, got, err, c.want)
		}
	}
	if _, err := semverSatisfies([3]int{1, 0, 0}, ">=1.2.3-beta"); err == nil {
		t.Error("a pre-release comparator was read without complaint")
	}
}

func TestHealthcheckCommand(t *testing.T) {
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": storetest.NewURL(t)})
	addr := strings.TrimPrefix(srv.URL, "http://")
	check := func(listen string) int {
		return run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string {
				if k == "DDNSBROKER_LISTEN" {
					return listen
				}
				return ""
			}}, []string{"healthcheck"})
	}
	if code := check(addr); code != 0 {
		t.Fatalf("healthcheck against a running server exited %d", code)
	}
	srv.stop()
	if code := check(addr); code == 0 {
		t.Fatal("healthcheck against a stopped server exited 0")
	}
}

// syscallName is what a system call's name looks like in strace's table.
var syscallName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
