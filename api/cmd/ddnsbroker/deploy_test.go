package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
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
}

func TestDockerfileBuildsWithMake(t *testing.T) {
	b, err := os.ReadFile("../../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// The image is built by the same command as a workstation build.
	if !strings.Contains(string(b), "RUN make build") || !strings.Contains(string(b), "USER nonroot") || !strings.Contains(string(b), "HEALTHCHECK") {
		t.Fatal("Dockerfile must build with `make build`, run as non-root and declare a HEALTHCHECK")
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
